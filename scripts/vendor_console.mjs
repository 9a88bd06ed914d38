// Copy the console's browser dependencies from node_modules into the console's vendor dir.
//
// Run by `make setup` after `npm ci` (never by hand in normal work): the console serves only
// files from its own origin, so maplibre-gl, the Natural Earth land layer and the CJK fonts
// are copied here, each with its licence. It must not fetch anything: node_modules is the
// only input. Usage: node scripts/vendor_console.mjs OUT_DIR
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const NM = path.join(ROOT, "node_modules");
const out = path.resolve(process.argv[2] ?? "src/seabridge/web/console/vendor");
// Font weights the stylesheet uses (regular text, headings and badges).
const FONT_WEIGHTS = ["400", "700"];
// Natural Earth 1:50m land is enough at the console's zoom range; 3 decimals ~ 100 m.
const LAND = { file: "land-50m.json", decimals: 3 };

function copy(from, to) {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
}

function version(pkg) {
  return JSON.parse(fs.readFileSync(path.join(NM, pkg, "package.json"), "utf8")).version;
}

function vendorMaplibre(dir) {
  const dist = path.join(NM, "maplibre-gl", "dist");
  for (const f of ["maplibre-gl.mjs", "maplibre-gl-worker.mjs", "maplibre-gl.css"]) {
    copy(path.join(dist, f), path.join(dir, f));
  }
  copy(path.join(NM, "maplibre-gl", "LICENSE.txt"), path.join(dir, "LICENSE.txt"));
}

function roundCoords(coords, k) {
  return typeof coords[0] === "number"
    ? coords.map((c) => Math.round(c * k) / k)
    : coords.map((c) => roundCoords(c, k));
}

function vendorLand(dir) {
  const { feature } = require("topojson-client");
  const topology = JSON.parse(fs.readFileSync(path.join(NM, "world-atlas", LAND.file), "utf8"));
  const land = feature(topology, topology.objects.land);
  const k = 10 ** LAND.decimals;
  const features = (land.type === "FeatureCollection" ? land.features : [land]).map((f) => ({
    type: "Feature",
    properties: {},
    geometry: { type: f.geometry.type, coordinates: roundCoords(f.geometry.coordinates, k) },
  }));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "land.geojson"), JSON.stringify({ type: "FeatureCollection", features }));
  copy(path.join(NM, "world-atlas", "LICENSE"), path.join(dir, "LICENSE-world-atlas.txt"));
  copy(path.join(NM, "topojson-client", "LICENSE"), path.join(dir, "LICENSE-topojson-client.txt"));
  fs.writeFileSync(
    path.join(dir, "NOTICE.txt"),
    `Land polygons: Natural Earth (public domain, https://www.naturalearthdata.com/),\n` +
      `1:50m land, packaged as TopoJSON by world-atlas ${version("world-atlas")} and converted to\n` +
      `GeoJSON with topojson-client ${version("topojson-client")} at setup time.\n`,
  );
}

// Keep only woff2 sources (every browser the console supports reads woff2) and copy exactly
// the files the kept stylesheets name.
function vendorFont(pkg, dir) {
  const src = path.join(NM, "@fontsource", pkg);
  for (const weight of FONT_WEIGHTS) {
    const css = fs
      .readFileSync(path.join(src, `${weight}.css`), "utf8")
      .replace(/,\s*url\(\.\/files\/[^)]+\.woff\) format\('woff'\)/g, "");
    for (const m of css.matchAll(/url\(\.\/files\/([^)]+\.woff2)\)/g)) {
      copy(path.join(src, "files", m[1]), path.join(dir, "files", m[1]));
    }
    fs.writeFileSync(path.join(dir, `${weight}.css`), css);
  }
  copy(path.join(src, "LICENSE"), path.join(dir, "LICENSE"));
}

const tmp = `${out}.tmp-${process.pid}`;
fs.rmSync(tmp, { recursive: true, force: true });
vendorMaplibre(path.join(tmp, "maplibre-gl"));
vendorLand(path.join(tmp, "land"));
vendorFont("noto-sans-jp", path.join(tmp, "fonts", "noto-sans-jp"));
vendorFont("noto-sans-sc", path.join(tmp, "fonts", "noto-sans-sc"));
const pkgs = ["maplibre-gl", "world-atlas", "topojson-client", "@fontsource/noto-sans-jp", "@fontsource/noto-sans-sc"];
fs.writeFileSync(
  path.join(tmp, "versions.json"),
  JSON.stringify(Object.fromEntries(pkgs.map((p) => [p, version(p)])), null, 2) + "\n",
);
// Swap in one step so a failed run never leaves a half-written vendor dir behind.
fs.rmSync(out, { recursive: true, force: true });
fs.renameSync(tmp, out);
console.log(`vendored console dependencies into ${path.relative(ROOT, out)}`);
