/** Where a windowed store keeps its own progress: entries changelogged with its windows. */
export interface ProgressHolder {
  meta(name: string): unknown
  setMeta(name: string, value: unknown): void
}

/**
 * A windowed aggregation's stream time (the largest timestamp seen) and how far it has emitted
 * closed windows and expired old ones, kept in its store so a restart or a restore carries on
 * exactly where the last commit left it; written back only when it changed.
 */
export class WindowProgress {
  private saved = ''

  private constructor(
    public streamTime: number,
    public emittedBefore: number,
    public expiredBefore: number,
  ) {}

  static load(store: ProgressHolder): WindowProgress {
    const saved = store.meta('progress') as
      { streamTime: number; emittedBefore: number; expiredBefore: number } | undefined
    const progress = saved
      ? new WindowProgress(saved.streamTime, saved.emittedBefore, saved.expiredBefore)
      : new WindowProgress(-1, 0, 0)
    progress.saved = JSON.stringify(saved ?? null)
    return progress
  }

  /** Moves stream time forward to `time`, if it is later. */
  observe(time: number): void {
    if (time > this.streamTime) this.streamTime = time
  }

  save(store: ProgressHolder): void {
    const state = { streamTime: this.streamTime, emittedBefore: this.emittedBefore, expiredBefore: this.expiredBefore }
    const text = JSON.stringify(state)
    if (text === this.saved) return
    store.setMeta('progress', state)
    this.saved = text
  }
}
