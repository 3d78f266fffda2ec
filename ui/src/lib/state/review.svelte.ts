// The Review step's state (docs/setup.md, "Review"): one live review of what the profile is set to
// do and what is missing, each missing item with the step that fixes it.
import type { ApiError, Backend, Progress, Review, ReviewItem, ReviewStatus } from "../ipc";
import { asApiError } from "./connect.svelte";

/** How each status reads. */
export const STATUS_WORDS: Record<ReviewStatus, string> = { ready: "Ready", missing: "Missing", warning: "Warning" };

/** Items in the order people act on them: missing first, then warnings, then what is ready. */
export function byUrgency(items: readonly ReviewItem[]): ReviewItem[] {
  const rank: Record<ReviewStatus, number> = { missing: 0, warning: 1, ready: 2 };
  return items
    .map((item, i) => ({ item, i }))
    .sort((a, b) => rank[a.item.status] - rank[b.item.status] || a.i - b.i)
    .map(({ item }) => item);
}

export class ReviewRun {
  readonly profileId: string;
  review = $state<Review | null>(null);
  running = $state(false);
  progress = $state<Progress | null>(null);
  error = $state<ApiError | null>(null);
  readonly #backend: Backend;

  constructor(backend: Backend, profileId: string) {
    this.#backend = backend;
    this.profileId = profileId;
  }

  /** Counts of items per status. */
  get counts(): Record<ReviewStatus, number> {
    const counts = { ready: 0, missing: 0, warning: 0 };
    for (const item of this.review?.items ?? []) counts[item.status] += 1;
    return counts;
  }

  async run(): Promise<Review | null> {
    if (this.running) return null;
    this.running = true;
    this.error = null;
    this.progress = null;
    try {
      this.review = await this.#backend.review(this.profileId, (progress) => {
        if (this.running) this.progress = progress;
      });
      return this.review;
    } catch (error) {
      this.error = asApiError(error);
      return null;
    } finally {
      this.running = false;
      this.progress = null;
    }
  }
}
