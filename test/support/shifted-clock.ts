/**
 * The bot's clock as a test drives it: real time shifted, so time still passes, but the test picks
 * the day and hour, or moves the clock on instead of waiting.
 */
export class ShiftedClock {
  private offsetMs = 0;

  /** An arrow, so the bot may hold on to `clock.now` on its own. */
  readonly now = (): Date => new Date(Date.now() + this.offsetMs);

  /** From now on the clock reads `iso`, and runs on from there. */
  setTo(iso: string): void {
    this.offsetMs = Date.parse(iso) - Date.now();
  }

  /** As if `ms` had passed. */
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
