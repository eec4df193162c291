import { useDeferredValue, useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { Link, NavLink, useNavigate, useParams } from 'react-router';

import { messageOf } from '../../api/errors';
import type { Conversation } from '../../api/types.gen';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { Icon } from '../../components/Icon';
import { ThemeToggle } from '../../components/ThemeToggle';
import { canSeeUsers, useMe } from '../auth/api';
import { sortForSidebar, useConversations, useDeleteConversation, useUpdateConversation } from './api';

export function Sidebar({ onNavigate }: { onNavigate: () => void }) {
  const [q, setQ] = useState('');
  const [archived, setArchived] = useState(false);
  const search = useDeferredValue(q);
  const list = useConversations({ q: search, archived });
  const me = useMe();
  const [deleting, setDeleting] = useState<Conversation | null>(null);
  const remove = useDeleteConversation();
  const navigate = useNavigate();
  const { conversationId } = useParams();

  async function confirmDelete() {
    const c = deleting;
    setDeleting(null);
    if (!c) return;
    await remove.mutateAsync(c.id).catch(() => undefined);
    if (c.id === conversationId) navigate('/');
  }

  const conversations = sortForSidebar(list.data ?? []);

  return (
    <nav className="sidebar" aria-label="Conversations">
      <div className="sidebar-top">
        <Link to="/" className="button primary wide" onClick={onNavigate}>
          <Icon name="plus" /> New chat
        </Link>
        <div className="search">
          <Icon name="search" size={16} />
          <input
            type="search"
            placeholder="Search conversations"
            aria-label="Search conversations by title"
            value={q}
            onChange={(e) => setQ(e.target.value)}
          />
        </div>
        <label className="toggle">
          <input type="checkbox" checked={archived} onChange={(e) => setArchived(e.target.checked)} />
          Show archived
        </label>
      </div>

      <ul className="conversation-list" aria-busy={list.isFetching}>
        {list.isError && <li className="form-error">{messageOf(list.error)}</li>}
        {list.isSuccess && conversations.length === 0 && (
          <li className="muted empty">
            {q ? 'No conversation matches.' : archived ? 'Nothing archived.' : 'No conversations yet.'}
          </li>
        )}
        {conversations.map((c) => (
          <ConversationItem key={c.id} conversation={c} onNavigate={onNavigate} onDelete={() => setDeleting(c)} />
        ))}
      </ul>

      <div className="sidebar-bottom">
        <NavLink to="/account" className="user-link" onClick={onNavigate}>
          <span className="avatar" aria-hidden="true">
            {(me.data?.full_name || me.data?.username || '?').slice(0, 1).toUpperCase()}
          </span>
          <span className="user-name">{me.data?.full_name || me.data?.username}</span>
        </NavLink>
        {canSeeUsers(me.data) && (
          <NavLink to="/admin" className="icon-button" aria-label="Users" title="Users" onClick={onNavigate}>
            <Icon name="settings" />
          </NavLink>
        )}
        <ThemeToggle />
      </div>

      <ConfirmDialog
        open={deleting !== null}
        title="Delete conversation?"
        body={`“${deleting?.title ?? ''}” and all its messages will be deleted. This cannot be undone.`}
        confirmLabel="Delete"
        onConfirm={confirmDelete}
        onCancel={() => setDeleting(null)}
      />
    </nav>
  );
}

function ConversationItem({
  conversation: c,
  onNavigate,
  onDelete,
}: {
  conversation: Conversation;
  onNavigate: () => void;
  onDelete: () => void;
}) {
  const [renaming, setRenaming] = useState(false);
  const [menu, setMenu] = useState(false);
  const update = useUpdateConversation();
  const input = useRef<HTMLInputElement>(null);
  const menuRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (renaming) input.current?.select();
  }, [renaming]);

  useEffect(() => {
    if (!menu) return;
    const close = (e: MouseEvent) => {
      if (!menuRef.current?.contains(e.target as Node)) setMenu(false);
    };
    document.addEventListener('mousedown', close);
    return () => document.removeEventListener('mousedown', close);
  }, [menu]);

  function finishRename(save: boolean) {
    const title = input.current?.value.trim() ?? '';
    setRenaming(false);
    if (save && title && title !== c.title) update.mutate({ id: c.id, patch: { title } });
  }

  function onKey(e: KeyboardEvent<HTMLInputElement>) {
    if (e.key === 'Enter') finishRename(true);
    if (e.key === 'Escape') finishRename(false);
  }

  const act = (fn: () => void) => () => {
    setMenu(false);
    fn();
  };

  return (
    <li className="conversation-item">
      {renaming ? (
        <input
          ref={input}
          className="rename-input"
          defaultValue={c.title}
          aria-label="Conversation title"
          maxLength={200}
          onKeyDown={onKey}
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
            <span className="pin-mark" aria-label="Pinned">
              <Icon name="pin" size={14} />
            </span>
          )}
          <span className="conversation-title">{c.title}</span>
        </NavLink>
      )}
      <div className="item-menu" ref={menuRef}>
        <button
          type="button"
          className="icon-button small"
          aria-label={`Actions for ${c.title}`}
          aria-haspopup="menu"
          aria-expanded={menu}
          onClick={() => setMenu((m) => !m)}
        >
          <Icon name="more" />
        </button>
        {menu && (
          <div className="menu" role="menu">
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
