/** The sidebar's groups: pinned conversations, then by the day of their last activity. */

export type SectionId = 'pinned' | 'today' | 'yesterday' | 'week' | 'month' | 'older';

export const SECTION_TITLES: Record<SectionId, string> = {
  pinned: 'Pinned',
  today: 'Today',
  yesterday: 'Yesterday',
  week: 'Previous 7 days',
  month: 'Previous 30 days',
  older: 'Older',
};

const ORDER: SectionId[] = ['pinned', 'today', 'yesterday', 'week', 'month', 'older'];

export interface Section<T> {
  id: SectionId;
  title: string;
  items: T[];
}

/** What the sections need of a conversation. */
export interface Dated {
  pinned: boolean;
  /** Last activity (the server orders by it too), RFC 3339. */
  updated_at: string;
}

/** Local midnight `days` calendar days before `now`'s day: by the calendar, so a day with a
 *  daylight-saving change (23 or 25 hours) still ends at midnight. */
function midnight(now: Date, days: number): number {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate() - days).getTime();
}

/** The section of an activity time, in the local time zone. A time ahead of `now` (another
 *  machine's clock) is today; an unreadable one is older. */
export function sectionOf(activity: number, now: Date): Exclude<SectionId, 'pinned'> {
  if (Number.isNaN(activity)) return 'older';
  if (activity >= midnight(now, 0)) return 'today';
  if (activity >= midnight(now, 1)) return 'yesterday';
  if (activity >= midnight(now, 7)) return 'week';
  if (activity >= midnight(now, 30)) return 'month';
  return 'older';
}

/** Non-empty sections in display order; within each, the list's own order (the server's). */
export function sectionsOf<T extends Dated>(list: T[], now: Date): Section<T>[] {
  const groups = new Map<SectionId, T[]>();
  for (const item of list) {
    const id = item.pinned ? 'pinned' : sectionOf(Date.parse(item.updated_at), now);
    const group = groups.get(id);
    if (group) group.push(item);
    else groups.set(id, [item]);
  }
  return ORDER.filter((id) => groups.has(id)).map((id) => ({ id, title: SECTION_TITLES[id], items: groups.get(id)! }));
}
