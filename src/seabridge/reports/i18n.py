"""The reports' UI strings in English, Japanese and Chinese: one table, looked up by key.

Only the words of the report's own frame live here (titles, headings, column names,
definitions). Names of features and zones come from the pack, never from this table:
disputed features always show every name (:func:`seabridge.geo.all_names`), and zones are
geometry labelled with who declares them, never a claim.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from seabridge.errors import InputError

__all__ = ["LANGS", "STRINGS", "check_lang", "text"]

LANGS: Final = ("en", "ja", "zh")
"""Report languages; ``en`` is the fallback of a missing translation (a test forbids any)."""

_TABLE: dict[str, tuple[str, str, str]] = {
    # key: (en, ja, zh)
    "generated": ("Generated", "作成日時", "生成时间"),
    "data_source": ("Data source", "データ", "数据来源"),
    "node": ("Node", "ノード", "节点"),
    "period": ("Period", "対象期間", "统计期间"),
    "pack": ("Zone pack", "区域パック", "区域数据包"),
    "page": ("Page", "ページ", "页"),
    "contents": ("Contents", "目次", "目录"),
    "definitions": ("Definitions", "定義", "定义"),
    "numbers_file": ("Every number of this report", "本報告の全数値", "本报告的全部数值"),
    "neutral_note": (
        "Zones are geometry (for example, waters within 12 nm of the features) and state who "
        "declares them; they assert no sovereignty. Disputed features show all their names.",
        "区域は幾何学的な範囲（例：地物から12海里以内の水域）であり、宣言主体を示すもので、"
        "主権を主張するものではありません。係争地物はすべての名称を併記します。",
        "区域仅为几何范围（例如：距地物12海里以内的水域），并注明宣布方，不主张任何主权。"
        "有争议的地物列出全部名称。",
    ),
    "monthly_title": (
        "Monthly transparency report",
        "月次透明性報告",
        "月度透明度报告",
    ),
    "incident_title": ("Incident report", "インシデント報告", "事件报告"),
    "summary": ("Summary", "概要", "摘要"),
    "map": ("Map", "地図", "地图"),
    "map_caption": (
        "Positions in the period (dots) over the pack's zones; land from Natural Earth.",
        "期間中の位置（点）と区域パックの区域。陸地は Natural Earth による。",
        "统计期间内的位置（点）及区域数据包中的区域；陆地数据来自 Natural Earth。",
    ),
    "features": ("Features", "地物", "地物"),
    "belt_presence": ("Vessel-days in each belt", "各帯域の在域隻日数", "各带状区域的船舶日数"),
    "belt_presence_def": (
        "A vessel counts for a day in a belt if at least one of its positions that UTC day lies "
        "inside the belt. Days: days on which at least one vessel of the group was present. "
        "Aggregate vessels: the sum over days of the vessels present (the Japan Coast Guard's "
        "延べ count).",
        "ある船舶が、ある UTC 日に帯域内の位置を1点以上報告した場合、その日その帯域に在域した"
        "ものとします。日数：当該区分の船舶が1隻以上在域した日数。延べ隻数：各日の在域隻数の"
        "合計（海上保安庁の「延べ隻数」と同じ数え方）。",
        "某船舶在某一 UTC 日内至少有一个位置位于带状区域内，即计为当日在该区域出现。天数："
        "该类别至少有一艘船舶出现的天数。累计船次：各日出现船舶数之和（与日本海上保安厅的"
        "“延べ”计数方法相同）。",
    ),
    "belt": ("Belt", "帯域", "带状区域"),
    "flag": ("Flag", "旗国", "船旗"),
    "ship_type": ("Ship type", "船種", "船舶类型"),
    "days": ("Days", "日数", "天数"),
    "vessel_days": ("Aggregate vessels (延べ)", "延べ隻数", "累计船次"),
    "vessels": ("Vessels", "隻数", "船舶数"),
    "all": ("All", "全体", "全部"),
    "jcg_form": (
        "In the form of the Japan Coast Guard's monthly counts",
        "海上保安庁の月次集計と同じ形式",
        "与日本海上保安厅月度统计相同的形式",
    ),
    "daily_presence": ("Vessels present per day", "日別在域隻数", "每日在域船舶数"),
    "entries": ("Entries into the 12 nm belt", "12海里帯への進入", "进入12海里带"),
    "entries_def": (
        "Zone-entry events of the shared safety standard whose zone is a 12 nm belt, counted "
        "once each (final state of each event).",
        "共通安全基準の区域進入イベントのうち、区域が12海里帯であるもの（各イベントの最終状態で"
        "1件と数える）。",
        "共同安全标准中区域为12海里带的进入区域事件（按每个事件的最终状态计为一件）。",
    ),
    "events": ("Events", "イベント", "事件数"),
    "close_quarters": ("Close-quarters events by level", "レベル別近接事象", "按等级的近距离事件"),
    "level": ("Level", "レベル", "等级"),
    "ais_gaps": ("AIS gaps", "AIS 途絶", "AIS 信号中断"),
    "encounters": ("Encounters", "会合", "相遇"),
    "count": ("Count", "件数", "数量"),
    "median_duration": ("Median duration (min)", "継続時間中央値（分）", "持续时间中位数（分钟）"),
    "events_def": (
        "Events of the node's live engine (events.jsonl) that started in the period, each "
        "counted once in its final state; retracted events are not counted.",
        "対象期間に開始したノードのライブエンジンのイベント（events.jsonl）。各イベントは最終"
        "状態で1件と数え、撤回されたものは数えません。",
        "统计期间内开始的节点实时引擎事件（events.jsonl），每个事件按最终状态计为一件；"
        "已撤回的事件不计。",
    ),
    "incidents": ("Incidents", "インシデント", "事件"),
    "incidents_def": (
        "Incidents opened in the period. Time to first acknowledgement and to resolution are "
        "measured from the incident's opening.",
        "対象期間に開始したインシデント。初回確認までの時間と解決までの時間は、インシデント"
        "開始時点から測ります。",
        "统计期间内开启的事件。首次确认时间与解决时间均自事件开启时起计算。",
    ),
    "opened": ("Opened", "開始", "开启"),
    "acknowledged": ("Acknowledged", "確認済み", "已确认"),
    "resolved": ("Resolved", "解決済み", "已解决"),
    "escalated": ("Escalated", "エスカレーション", "已升级"),
    "median_ack": (
        "Median time to first acknowledgement (min)",
        "初回確認までの時間の中央値（分）",
        "首次确认时间中位数（分钟）",
    ),
    "median_resolve": (
        "Median time to resolution (min)",
        "解決までの時間の中央値（分）",
        "解决时间中位数（分钟）",
    ),
    "hotline": ("Hotline delivery", "ホットライン配信", "热线送达"),
    "hotline_def": (
        "Entries this node wrote to its own logs in the period. Receipted: the peer's "
        "cosignature of a checkpoint covering the entry reached this node; latency is from the "
        "entry's creation to that receipt. Acknowledged within the deadline: the peer's ack or "
        "reply to an entry that set a deadline was written before the deadline.",
        "対象期間に本ノードが自らのログに書き込んだエントリ。受領確認：そのエントリを含む"
        "チェックポイントへの相手側の連署が本ノードに届いたもの。遅延はエントリ作成からその"
        "受領までの時間。期限内応答：期限付きエントリへの相手側の ack または reply が期限前に"
        "書かれたもの。",
        "统计期间内本节点写入自身日志的条目。已回执：对方对包含该条目的检查点的联署已送达"
        "本节点；延迟为自条目创建至收到回执的时间。期限内确认：对方对设有期限的条目的 ack "
        "或 reply 在期限前写入。",
    ),
    "peer": ("Peer", "相手", "对方"),
    "sent": ("Sent", "送信", "已发送"),
    "receipted": ("Receipted", "受領確認", "已回执"),
    "median_latency": (
        "Median receipt latency (s)",
        "受領遅延の中央値（秒）",
        "回执延迟中位数（秒）",
    ),
    "p95_latency": (
        "p95 receipt latency (s)",
        "受領遅延の95パーセンタイル（秒）",
        "回执延迟P95（秒）",
    ),
    "with_deadline": ("With a deadline", "期限付き", "设有期限"),
    "acked_in_time": ("Acknowledged within the deadline", "期限内応答", "期限内确认"),
    "none": ("none", "なし", "无"),
    "unknown": ("unknown", "不明", "未知"),
    "type_government": ("Government", "政府船舶", "政府船舶"),
    "type_fishing": ("Fishing", "漁船", "渔船"),
    "type_passenger": ("Passenger", "旅客船", "客船"),
    "type_cargo": ("Cargo", "貨物船", "货船"),
    "type_tanker": ("Tanker", "タンカー", "油轮"),
    "type_other": ("Other", "その他", "其他"),
    "type_unknown": ("Unknown", "不明", "未知"),
    "declared_by": ("declared by", "宣言主体", "宣布方"),
}

STRINGS: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {key: MappingProxyType(dict(zip(LANGS, row, strict=True))) for key, row in _TABLE.items()}
)
"""``key -> {lang -> text}`` for every report UI string."""


def check_lang(lang: str) -> str:
    """``lang`` when it is a report language.

    Raises:
        InputError: it is not one of :data:`LANGS`.
    """
    if lang not in LANGS:
        raise InputError(f"--lang {lang}: choose one of {', '.join(LANGS)}")
    return lang


def text(key: str, lang: str) -> str:
    """The UI string ``key`` in ``lang`` (a KeyError names an unknown key: a programming slip)."""
    return STRINGS[key][lang]
