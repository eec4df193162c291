import { useCallback, useEffect, useLayoutEffect, useRef, useState, type ReactNode } from 'react';

import { Icon } from '../../components/Icon';

/** Messages rendered at first; scrolling up renders (and, when needed, loads) more. */
const WINDOW = 60;

interface Props {
  count: number;
  /** Renders the item at `index` of the full list. */
  render: (index: number) => ReactNode;
  hasOlder: boolean;
  loadOlder: () => Promise<void>;
  /** Changes whenever the content grows (new message, new text). */
  version: unknown;
}

/**
 * Mounted once per conversation (its parent is keyed by conversation id).
 * A paged, bottom-anchored list: only the newest WINDOW messages are in the DOM until the user
 * scrolls up, so a conversation of thousands of messages opens and scrolls smoothly. It follows
 * new text while the user is at the bottom and stops as soon as they scroll up.
 */
export function MessageList({ count, render, hasOlder, loadOlder, version }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const top = useRef<HTMLDivElement>(null);
  const [shown, setShown] = useState(WINDOW);
  const [stuck, setStuck] = useState(true);
  const stick = useRef(true);
  const restore = useRef<number | null>(null);
  const loading = useRef(false);

  const onScroll = useCallback(() => {
    const el = scroller.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
    stick.current = atBottom;
    setStuck(atBottom);
  }, []);

  // Keep the view pinned to the bottom while following, and in place after older items appear.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (restore.current !== null) {
      el.scrollTop = el.scrollHeight - restore.current;
      restore.current = null;
    } else if (stick.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [version, shown, count]);

  const first = Math.max(0, count - shown);

  useEffect(() => {
    const sentinel = top.current;
    const el = scroller.current;
    if (!sentinel || !el) return;
    const observer = new IntersectionObserver(
      async (entries) => {
        if (!entries.some((e) => e.isIntersecting) || loading.current || stick.current) return;
        loading.current = true;
        restore.current = el.scrollHeight - el.scrollTop;
        if (first > 0) setShown((s) => s + WINDOW);
        else if (hasOlder) {
          await loadOlder();
          setShown((s) => s + WINDOW);
        } else restore.current = null;
        loading.current = false;
      },
      { root: el, rootMargin: '400px 0px 0px 0px' },
    );
    observer.observe(sentinel);
    return () => observer.disconnect();
  }, [first, hasOlder, loadOlder]);

  const items: ReactNode[] = [];
  for (let i = first; i < count; i++) items.push(render(i));

  return (
    <div className="message-scroller" ref={scroller} onScroll={onScroll}>
      <div className="message-column">
        <div ref={top} className="list-top">
          {(first > 0 || hasOlder) && <span className="muted">Earlier messages load as you scroll up.</span>}
        </div>
        {items}
      </div>
      {!stuck && (
        <button
          type="button"
          className="jump-latest"
          onClick={() => {
            const el = scroller.current;
            if (el) el.scrollTo({ top: el.scrollHeight });
          }}
        >
          <Icon name="right" size={14} /> Latest
        </button>
      )}
    </div>
  );
}
