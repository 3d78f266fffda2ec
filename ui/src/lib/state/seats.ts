// The seats chart's geometry (docs/licensing.md, "Seats over time"): seat points grouped into one
// series per SKU, scaled into an SVG box, as polyline point lists. Pure, so it is tested without a page.
import type { SeatPoint } from "../ipc";

export interface SeatSeries {
  skuPartNumber: string;
  name: string;
  /** SVG polyline points of the seats used. */
  used: string;
  /** SVG polyline points of the seats bought. */
  bought: string;
  /** The newest point. */
  last: SeatPoint;
}

export interface SeatChart {
  series: SeatSeries[];
  yTicks: Array<{ value: number; y: number }>;
  from: string | null;
  to: string | null;
}

export interface Box {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** A round step for about four ticks up to `max`. */
function tickStep(max: number): number {
  const raw = Math.max(1, max / 4);
  const mag = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw);
}

export function seatSeries(points: SeatPoint[], box: Box): SeatChart {
  const sorted = [...points].sort((a, b) => a.takenAt.localeCompare(b.takenAt));
  if (sorted.length === 0) return { series: [], yTicks: [], from: null, to: null };
  const times = sorted.map((p) => new Date(p.takenAt).getTime());
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const max = Math.max(1, ...sorted.map((p) => Math.max(p.consumed, p.enabled)));
  const step = tickStep(max);
  const top = Math.ceil(max / step) * step;
  const innerW = box.width - box.left - box.right;
  const innerH = box.height - box.top - box.bottom;
  const x = (t: number) => box.left + (t1 === t0 ? innerW / 2 : ((t - t0) / (t1 - t0)) * innerW);
  const y = (v: number) => box.top + innerH - (v / top) * innerH;
  const round = (n: number) => Math.round(n * 10) / 10;
  const bySku = new Map<string, SeatPoint[]>();
  for (const p of sorted) bySku.set(p.skuPartNumber, [...(bySku.get(p.skuPartNumber) ?? []), p]);
  const series = [...bySku.entries()].map(([skuPartNumber, pts]) => {
    const line = (value: (p: SeatPoint) => number) => {
      const coords = pts.map((p) => `${round(x(new Date(p.takenAt).getTime()))},${round(y(value(p)))}`);
      // A single point still draws: a short flat line.
      return coords.length === 1 ? `${round(x(t0) - 4)},${coords[0].split(",")[1]} ${round(x(t0) + 4)},${coords[0].split(",")[1]}` : coords.join(" ");
    };
    const last = pts[pts.length - 1];
    return { skuPartNumber, name: last.name || skuPartNumber, used: line((p) => p.consumed), bought: line((p) => p.enabled), last };
  });
  const yTicks = [];
  for (let v = 0; v <= top; v += step) yTicks.push({ value: v, y: round(y(v)) });
  return { series, yTicks, from: sorted[0].takenAt, to: sorted[sorted.length - 1].takenAt };
}
