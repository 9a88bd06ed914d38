"""The incident report's own UI strings in English, Japanese and Chinese (one table).

The words shared by every report (titles of the frame, "Map", "Summary", the neutrality note)
live in :mod:`seabridge.reports.i18n`; these are the incident report's. Names of features and
zones come from the pack, never from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from seabridge.reports.i18n import LANGS, check_lang

__all__ = ["STRINGS", "strings"]

_TABLE: dict[str, tuple[str, str, str]] = {
    # key: (en, ja, zh)
    "subtitle": ("Joint record of incident", "共同記録によるインシデント", "联合记录中的事件"),
    "data_as_of": ("Data as of", "データ時点", "数据截至"),
    "kind": ("Kind", "種別", "类型"),
    "status": ("Status", "状態", "状态"),
    "origin": ("Opened by", "起票", "发起方"),
    "vessels": ("Vessels", "船舶", "船舶"),
    "rulebook": ("Rulebook", "規則集", "规则集"),
    "agreed": ("jointly agreed", "双方合意済み", "双方已商定"),
    "not_agreed": ("not jointly agreed", "双方未合意", "双方未商定"),
    "window": ("Map window", "地図の期間", "地图时段"),
    "cpa": ("Predicted CPA at detection", "検知時の予測最接近距離", "检测时预测最近会遇距离"),
    "tcpa": ("Time to CPA", "最接近までの時間", "到最近会遇点的时间"),
    "closest": ("Closest approach in the tracks", "航跡上の最接近距離", "航迹中的最近距离"),
    "first_ack": ("Time to first acknowledgement", "最初の確認までの時間", "首次确认用时"),
    "resolution": ("Time to resolution", "解決までの時間", "解决用时"),
    "levels": ("Escalation levels reached", "到達したエスカレーション段階", "达到的升级级别"),
    "escalations": ("Escalations", "エスカレーション回数", "升级次数"),
    "not_yet": ("not yet", "未", "尚未"),
    "not_applicable": ("n/a", "該当なし", "不适用"),
    "metrics": ("Metrics", "指標", "指标"),
    "metric": ("Metric", "指標", "指标"),
    "value": ("Value", "値", "数值"),
    "source": ("Source (query)", "出典（クエリ）", "来源（查询）"),
    "timeline": ("Timeline", "時系列", "时间线"),
    "timeline_def": (
        "Steps of the incident on this node and the signed hotline entries, in time order. "
        "Notes kept internal on this node are not shown.",
        "本ノードにおけるインシデントの推移と署名済みホットライン記録を時系列で示します。"
        "内部メモは掲載しません。",
        "本节点上事件的各步骤及已签名的热线记录，按时间排列。内部备注不予列出。",
    ),
    "time": ("Time (UTC)", "時刻（UTC）", "时间（UTC）"),
    "what": ("What", "内容", "内容"),
    "who": ("Who", "主体", "主体"),
    "step": ("Incident step", "インシデントの推移", "事件步骤"),
    "events": ("Detection events", "検知イベント", "检测事件"),
    "events_def": (
        "Every record of the incident's detection events (each status change), with the "
        "rule's measured metrics.",
        "インシデントの検知イベントの全記録（状態変化ごと）と、規則が測定した指標。",
        "事件检测事件的全部记录（每次状态变化）及规则测得的指标。",
    ),
    "level": ("Level", "レベル", "等级"),
    "start": ("Start", "開始", "开始"),
    "end": ("End", "終了", "结束"),
    "position": ("Position", "位置", "位置"),
    "hotline": ("Hotline entries and proofs", "ホットライン記録と証明", "热线记录与证明"),
    "hotline_def": (
        "Each entry is signed by its author's log key and kept in both parties' joint record. "
        "Its inclusion proof (file named below, printed in the appendix) lets anyone check it "
        "without a node: seabridge ledger verify-proof FILE.",
        "各記録は送信者のログ鍵で署名され、双方の共同記録に保存されています。"
        "包含証明（下記ファイル、付録に掲載）により、ノードなしで誰でも検証できます："
        "seabridge ledger verify-proof FILE。",
        "每条记录均由发送方的日志密钥签名，并保存在双方的联合记录中。"
        "其包含证明（文件名见下，附录中列出）可供任何人在无节点的情况下验证："
        "seabridge ledger verify-proof FILE。",
    ),
    "entry": ("Entry (origin#seq)", "記録（origin#seq）", "记录（origin#seq）"),
    "signer": ("Signed by", "署名者", "签名方"),
    "language": ("Language", "言語", "语言"),
    "text": ("Text", "本文", "正文"),
    "text_en": ("English text", "英語本文", "英文正文"),
    "receipted": ("Receipted", "受領確認", "回执"),
    "acknowledged": ("Acknowledged", "確認済み", "已确认"),
    "deadline": ("Deadline", "期限", "期限"),
    "proof": ("Proof file", "証明ファイル", "证明文件"),
    "no_proof": ("no proof yet", "証明未作成", "尚无证明"),
    "yes": ("yes", "はい", "是"),
    "no": ("no", "いいえ", "否"),
    "zones_near": ("Zones in the map window", "地図範囲内の区域", "地图范围内的区域"),
    "features_near": ("Features near the incident", "付近の地物", "事件附近的地物"),
    "names": ("Names", "名称", "名称"),
    "distance_nm": ("Distance (nm)", "距離（海里）", "距离（海里）"),
    "declared_by": ("Declared by", "宣言主体", "宣布方"),
    "map_caption": (
        "Tracks of the incident's vessels in the window, the closest approach in the tracks "
        "(black line) and where the rule predicted the CPA (orange dot); zone outlines are "
        "geometry.",
        "期間内の当該船舶の航跡、航跡上の最接近（黒線）、規則が予測した最接近点（橙色の点）。"
        "区域の輪郭は幾何学的範囲です。",
        "时段内相关船舶的航迹、航迹中的最近距离（黑线）及规则预测的最近会遇点（橙色圆点）。"
        "区域轮廓仅为几何范围。",
    ),
    "no_tracks": (
        "No positions of these vessels in the track store for the window.",
        "期間内の当該船舶の位置データが航跡ストアにありません。",
        "航迹库中没有这些船舶在该时段的位置数据。",
    ),
    "withheld": (
        "internal notes not shown",
        "件の内部メモは非掲載",
        "条内部备注未列出",
    ),
    "definitions_def": (
        "Every number above comes from one query of the node's record; the data file "
        "lists them with their values.",
        "上記の数値はすべてノード記録への一つのクエリに由来します。データファイルに値とともに"
        "記載しています。",
        "以上每个数值均来自对节点记录的一次查询；数据文件列出了这些查询及其数值。",
    ),
    "appendix": ("Appendix: inclusion proofs", "付録：包含証明", "附录：包含证明"),
}

STRINGS: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {
        lang: MappingProxyType({key: texts[i] for key, texts in _TABLE.items()})
        for i, lang in enumerate(LANGS)
    }
)
"""``STRINGS[lang][key]``: every key in every language (a test checks none is empty)."""


def strings(lang: str) -> Mapping[str, str]:
    """The incident report's strings in ``lang``.

    Raises:
        InputError: ``lang`` is not a report language.
    """
    return STRINGS[check_lang(lang)]
