import { defaultRangeExtractor, useVirtualizer, type Range } from '@tanstack/react-virtual';
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type FocusEvent, type ReactNode } from 'react';

import { Icon } from '../../components/Icon';

/** A first guess at a message's height; each one is measured once rendered. */
const ESTIMATED_HEIGHT = 110;
/** Room above the first message, for the "earlier messages" notice. */
const PADDING_START = 40;
/** Older messages are fetched when the first rendered message is this close to the oldest loaded. */
const LOAD_AHEAD = 8;

interface Props {
  count: number;
  /** Renders the item at `index` of the full list. */
  render: (index: number) => ReactNode;
  /** A stable key per item (the message id): sizes and the scroll anchor follow it. */
  itemKey: (index: number) => string;
  hasOlder: boolean;
  loadOlder: () => Promise<void>;
}

/**
 * Mounted once per conversation (its parent is keyed by conversation id).
 * A virtualised list: only the messages in view (and a few either side) are in the DOM, whatever
 * the conversation's length. It opens at the newest message, follows a streaming reply while the
 * reader is at the end and stops as soon as they scroll up, keeps the message in view still when
 * older pages are loaded above it, and keeps a focused message (say, one being edited) mounted
 * when it scrolls out of view.
 */
export function MessageList({ count, render, itemKey, hasOlder, loadOlder }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const [atEnd, setAtEnd] = useState(true);
  /** Following the end: set by the reader's scrolling, read before every paint. */
  const stick = useRef(true);
  const focused = useRef<string | null>(null);
  const loading = useRef(false);
  const firstKey = useRef<string | null>(null);

  // A focused message stays rendered, so a draft being edited survives scrolling away from it.
  const rangeExtractor = useCallback(
    (range: Range) => {
      const indexes = defaultRangeExtractor(range);
      const key = focused.current;
      if (key === null) return indexes;
      for (let i = 0; i < range.count; i++) {
        if (itemKey(i) === key) {
          if (!indexes.includes(i)) {
            indexes.push(i);
            indexes.sort((a, b) => a - b);
          }
          break;
        }
      }
      return indexes;
    },
    [itemKey],
  );

  // eslint-disable-next-line react-hooks/incompatible-library -- no React Compiler here: nothing memoises this component's render
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scroller.current,
    estimateSize: () => ESTIMATED_HEIGHT,
    getItemKey: itemKey,
    rangeExtractor,
    overscan: 4,
    paddingStart: PADDING_START,
    paddingEnd: 32,
  });

  // Before every paint: older messages that came in above keep the view on what the reader was
  // looking at; otherwise, while following, the view stays at the end as the reply grows and
  // as rendered messages replace their estimated heights with measured ones.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || count === 0) return;
    const previousFirst = firstKey.current;
    firstKey.current = itemKey(0);
    if (previousFirst !== null && previousFirst !== firstKey.current) {
      let moved = 0;
      while (moved < count && itemKey(moved) !== previousFirst) moved++;
      const start = virtualizer.measurementsCache[moved]?.start;
      if (moved > 0 && moved < count && start !== undefined) {
        el.scrollTop += start - PADDING_START;
        return;
      }
    }
    if (stick.current) el.scrollTop = el.scrollHeight;
  });

  const items = virtualizer.getVirtualItems();
  const firstShown = items[0]?.index ?? 0;
  useEffect(() => {
    if (count === 0 || stick.current || !hasOlder || loading.current || firstShown > LOAD_AHEAD) return;
    loading.current = true;
    void loadOlder().finally(() => {
      loading.current = false;
    });
  }, [count, firstShown, hasOlder, loadOlder]);

  const onScroll = useCallback(() => {
    const el = scroller.current;
    if (!el) return;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
    setAtEnd(stick.current);
  }, []);

  const onFocus = useCallback((e: FocusEvent<HTMLDivElement>) => {
    focused.current = (e.target as HTMLElement).closest<HTMLElement>('[data-key]')?.dataset.key ?? null;
  }, []);
  const onBlur = useCallback(() => {
    focused.current = null;
  }, []);

  return (
    <div className="message-scroller" ref={scroller} onScroll={onScroll}>
      <div className="message-column" style={{ height: virtualizer.getTotalSize() }} onFocus={onFocus} onBlur={onBlur}>
        {hasOlder && <p className="list-top muted">Earlier messages load as you scroll up.</p>}
        {items.map((item) => (
          <div
            key={item.key}
            className="message-row"
            data-index={item.index}
            data-key={item.key}
            ref={virtualizer.measureElement}
            style={{ transform: `translateY(${item.start}px)` }}
          >
            {render(item.index)}
          </div>
        ))}
      </div>
      {!atEnd && (
        <button
          type="button"
          className="jump-latest"
          onClick={() => {
            const el = scroller.current;
            if (!el) return;
            stick.current = true;
            el.scrollTop = el.scrollHeight;
          }}
        >
          <Icon name="right" size={14} /> Latest
        </button>
      )}
    </div>
  );
}
