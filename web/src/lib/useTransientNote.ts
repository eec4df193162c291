import { useEffect, useState } from 'react';

/** How long a confirmation such as "Profile saved." stays on screen. */
export const NOTE_MS = 5_000;

/**
 * A short confirmation that goes away by itself after `ms` (and when the caller clears it, e.g.
 * as soon as the form is edited again), so it never describes a state that is no longer true.
 */
export function useTransientNote(ms = NOTE_MS) {
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => {
    if (note === null) return;
    const timer = setTimeout(() => setNote(null), ms);
    return () => clearTimeout(timer);
  }, [note, ms]);
  return [note, setNote] as const;
}
