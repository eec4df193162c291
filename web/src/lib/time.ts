/** How a message's time is shown: short next to the message, in full in its tooltip. */

const formats = new Map<string, Intl.DateTimeFormat>();

/** Formatters are costly to make and every message needs them: one per locale and style. */
function format(locale: string | undefined, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${locale ?? ''}|${JSON.stringify(options)}`;
  let f = formats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, options);
    formats.set(key, f);
  }
  return f;
}

function startOfDay(d: Date): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/**
 * "14:05" today, "Yesterday, 14:05", "12 Mar, 14:05" earlier this year, "12 Mar 2025" before
 * (the words and order follow `locale`, by default the browser's). Local time.
 */
export function shortTime(at: Date, now: Date, locale?: string): string {
  const clock = format(locale, { hour: '2-digit', minute: '2-digit' }).format(at);
  const day = startOfDay(at);
  const today = startOfDay(now);
  if (day >= today) return clock;
  if (day >= new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1).getTime()) return `Yesterday, ${clock}`;
  if (at.getFullYear() === now.getFullYear()) {
    const date = format(locale, { day: 'numeric', month: 'short' }).format(at);
    return `${date}, ${clock}`;
  }
  return format(locale, { day: 'numeric', month: 'short', year: 'numeric' }).format(at);
}

/** The full date and time, e.g. "Thursday 12 March 2026 at 14:05:09". */
export function fullTime(at: Date, locale?: string): string {
  return format(locale, { dateStyle: 'full', timeStyle: 'medium' }).format(at);
}
