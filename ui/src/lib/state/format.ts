// Dates and countdowns as the Credentials screen shows them.

const DAY = 24 * 60 * 60 * 1000;

/** Whole days from `now` to `iso` (negative once past), counted in calendar days of the local time zone. */
export function daysUntil(iso: string, now: Date = new Date()): number | null {
  const when = new Date(dateOnly(iso) ? `${iso}T00:00:00` : iso);
  if (Number.isNaN(when.getTime())) return null;
  const a = Date.UTC(when.getFullYear(), when.getMonth(), when.getDate());
  const b = Date.UTC(now.getFullYear(), now.getMonth(), now.getDate());
  return Math.round((a - b) / DAY);
}

function dateOnly(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(value);
}

/** "in 23 days", "tomorrow", "today", "yesterday", "expired 3 days ago". */
export function countdown(days: number): string {
  if (days === 0) return "expires today";
  if (days === 1) return "in 1 day";
  if (days > 1) return `in ${days} days`;
  if (days === -1) return "expired yesterday";
  return `expired ${-days} days ago`;
}

/** From how many days before expiry a credential is flagged (docs/connections.md). */
export const WARNING_DAYS = 30;

export type ExpiryTone = "ok" | "warning" | "expired" | "unknown";

/** How an expiry reads: its countdown and its tone (warning from 30 days before, expired after). */
export function expiryState(days: number | null): { text: string; tone: ExpiryTone } {
  if (days === null) return { text: "No expiry date known", tone: "unknown" };
  if (days < 0) return { text: countdown(days), tone: "expired" };
  return { text: countdown(days), tone: days <= WARNING_DAYS ? "warning" : "ok" };
}

/** A date for people: "12 Mar 2026", in the local time zone; the raw text when it is not a date. */
export function formatDate(iso: string | null, locale?: string): string {
  if (!iso) return "Never";
  const d = new Date(dateOnly(iso) ? `${iso}T00:00:00` : iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleDateString(locale, { day: "numeric", month: "short", year: "numeric" });
}

/** A date and time for people: "12 Mar 2026, 14:05". */
export function formatDateTime(iso: string | null, locale?: string): string {
  if (!iso) return "Never";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(locale, { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" });
}

/** The `YYYY-MM-DD` of a date input for an RFC 3339 time (local calendar day), or "" when unknown. */
export function toDateInput(iso: string | null): string {
  if (!iso) return "";
  if (dateOnly(iso)) return iso;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
