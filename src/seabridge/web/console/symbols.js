// Vessel and level symbology shared by the map and the legend: party colours, ship type
// classes (AIS ship type codes, ITU-R M.1371-5 table 53) and the arrow icons drawn on a canvas.

export const PARTY_COLOURS = { jcg: "#1d4ed8", ccg: "#b45309", other: "#6b7280" };
export const LEVEL_COLOURS = { 1: "#0f766e", 2: "#a16207", 3: "#c2410c", 4: "#b91c1c" };
export const SHAPES = ["government", "fishing", "merchant", "other", "still"];
export const PARTY_KEYS = { jcg: "party.jcg", ccg: "party.ccg", other: "party.other" };
export const SHAPE_KEYS = {
  government: "shape.government",
  fishing: "shape.fishing",
  merchant: "shape.merchant",
  other: "shape.other",
  still: "shape.still",
};

export function partyOf(p) {
  const party = String(p ?? "").toLowerCase();
  return party in PARTY_COLOURS ? party : "other";
}

/** Ship type class from the AIS type code: 35 military and 55 law enforcement, 30 fishing,
 * 60-89 passenger, cargo, tanker; everything else (and unknown) "other". */
export function shapeOf(shipType) {
  const code = Number(shipType);
  if (code === 35 || code === 55) return "government";
  if (code === 30) return "fishing";
  if (code >= 60 && code <= 89) return "merchant";
  return "other";
}

/** Heading if known, else course over ground; null when the vessel shows no direction. */
export function directionOf(p) {
  for (const v of [p.heading_deg, p.cog_deg]) {
    if (v !== null && v !== undefined && Number.isFinite(Number(v)) && v >= 0 && v < 360) {
      return Number(v);
    }
  }
  return null;
}

const PATHS = {
  // Pointing north at size 32; the map rotates them by heading.
  government: [[16, 2], [26, 13], [26, 29], [6, 29], [6, 13]],
  fishing: [[16, 3], [22, 29], [10, 29]],
  merchant: [[16, 2], [26, 29], [16, 23], [6, 29]],
};

/** Draw one symbol into a 2D context of size px (no rotation). */
export function drawSymbol(ctx, shape, party, px) {
  const k = px / 32;
  ctx.clearRect(0, 0, px, px);
  ctx.lineJoin = "round";
  ctx.lineWidth = 2 * k;
  ctx.strokeStyle = "#0b1220";
  ctx.fillStyle = PARTY_COLOURS[party];
  ctx.beginPath();
  if (shape === "other" || shape === "still") {
    ctx.arc(16 * k, 17 * k, (shape === "still" ? 7 : 8) * k, 0, Math.PI * 2);
    ctx.fill();
    ctx.stroke();
    if (shape === "other") {
      ctx.beginPath();
      ctx.moveTo(16 * k, 9 * k);
      ctx.lineTo(16 * k, 1 * k);
      ctx.stroke();
    }
    return;
  }
  PATHS[shape].forEach(([x, y], i) => (i ? ctx.lineTo(x * k, y * k) : ctx.moveTo(x * k, y * k)));
  ctx.closePath();
  ctx.fill();
  ctx.stroke();
  if (shape === "government") {
    // A white band marks government vessels in any colour.
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(9 * k, 18 * k, 14 * k, 4 * k);
  }
}

export function symbolImage(shape, party, pixelRatio) {
  const px = 32 * pixelRatio;
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = px;
  const ctx = canvas.getContext("2d");
  drawSymbol(ctx, shape, party, px);
  return ctx.getImageData(0, 0, px, px);
}
