import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { Conversation } from '../../api/types.gen';
import { Icon } from '../../components/Icon';
import { NavLink } from '../../components/NavLink';
import { useUpdateConversation } from './api';
import { highlight } from './highlight';

interface Props {
  conversation: Conversation;
  onNavigate: () => void;
  onDelete: () => void;
  /** A search result's excerpt of the matching message, and the words to mark in it. */
  snippet?: string | null;
  words?: string[];
}

/** One conversation in the sidebar: its link, inline rename, and its actions menu. */
export function ConversationItem({ conversation: c, onNavigate, onDelete, snippet, words = [] }: Props) {
  const [renaming, setRenaming] = useState(false);
  const [menu, setMenu] = useState(false);
  const update = useUpdateConversation();
  const input = useRef<HTMLInputElement>(null);
  const wrap = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (renaming) input.current?.select();
  }, [renaming]);

  // An open menu: focus on its first item; a click elsewhere closes it; Esc closes it and
  // gives focus back to its button (and does nothing else: not the drawer, not a reply).
  useEffect(() => {
    if (!menu) return;
    wrap.current?.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
    const onDown = (e: MouseEvent) => {
      if (!wrap.current?.contains(e.target as Node)) setMenu(false);
    };
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      e.stopPropagation();
      setMenu(false);
      button.current?.focus();
    };
    document.addEventListener('mousedown', onDown);
    document.addEventListener('keydown', onKey, true);
    return () => {
      document.removeEventListener('mousedown', onDown);
      document.removeEventListener('keydown', onKey, true);
    };
  }, [menu]);

  function finishRename(save: boolean) {
    const title = input.current?.value.trim() ?? '';
    setRenaming(false);
    if (save && title && title !== c.title) update.mutate({ id: c.id, patch: { title } });
  }

  function onRenameKey(e: KeyboardEvent<HTMLInputElement>) {
    if (e.key === 'Enter') finishRename(true);
    if (e.key === 'Escape') finishRename(false);
  }

  /** Arrow keys, Home and End move between the items; Tab leaves and closes the menu. */
  function onMenuKey(e: KeyboardEvent<HTMLDivElement>) {
    const items = [...e.currentTarget.querySelectorAll<HTMLElement>('[role="menuitem"]')];
    const at = items.indexOf(document.activeElement as HTMLElement);
    const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 }[e.key];
    if (e.key === 'Tab') setMenu(false);
    if (to === undefined) return;
    e.preventDefault();
    items[(to + items.length) % items.length]?.focus();
  }

  const act = (fn: () => void) => () => {
    setMenu(false);
    button.current?.focus();
    fn();
  };

  const actions = `Actions for ${c.title}`;
  return (
    <li className="conversation-item">
      {renaming ? (
        <input
          ref={input}
          className="rename-input"
          defaultValue={c.title}
          aria-label="Conversation title"
          maxLength={200}
          onKeyDown={onRenameKey}
          onBlur={() => finishRename(true)}
        />
      ) : (
        <NavLink
          to={`/c/${c.id}`}
          className="conversation-link"
          onClick={onNavigate}
          onDoubleClick={() => setRenaming(true)}
          title={c.title}
        >
          {c.pinned && (
            <span className="pin-mark" role="img" aria-label="Pinned">
              <Icon name="pin" size={14} />
            </span>
          )}
          <span className="conversation-text">
            <span className="conversation-title">{c.title}</span>
            {snippet && (
              <span className="snippet">
                {highlight(snippet, words).map((part, i) =>
                  part.match ? <mark key={i}>{part.text}</mark> : part.text,
                )}
              </span>
            )}
          </span>
        </NavLink>
      )}
      <div className="item-menu" ref={wrap}>
        <button
          ref={button}
          type="button"
          className="icon-button small"
          aria-label={actions}
          title={actions}
          aria-haspopup="menu"
          aria-expanded={menu}
          onClick={() => setMenu((m) => !m)}
        >
          <Icon name="more" />
        </button>
        {menu && (
          <div className="menu" role="menu" aria-label={actions} onKeyDown={onMenuKey}>
            <button role="menuitem" type="button" onClick={act(() => setRenaming(true))}>
              <Icon name="edit" size={16} /> Rename
            </button>
            <button
              role="menuitem"
              type="button"
              onClick={act(() => update.mutate({ id: c.id, patch: { pinned: !c.pinned } }))}
            >
              <Icon name="pin" size={16} /> {c.pinned ? 'Unpin' : 'Pin'}
            </button>
            <button
              role="menuitem"
              type="button"
              onClick={act(() => update.mutate({ id: c.id, patch: { archived: !c.archived } }))}
            >
              <Icon name="archive" size={16} /> {c.archived ? 'Unarchive' : 'Archive'}
            </button>
            <button role="menuitem" type="button" className="danger-text" onClick={act(onDelete)}>
              <Icon name="trash" size={16} /> Delete
            </button>
          </div>
        )}
      </div>
    </li>
  );
}
