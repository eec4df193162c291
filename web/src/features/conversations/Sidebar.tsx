import { useState } from 'react';
import { Link, useLocation, useRoute } from 'wouter';

import { messageOf } from '../../api/errors';
import type { Conversation } from '../../api/types.gen';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { NavLink } from '../../components/NavLink';
import { Icon } from '../../components/Icon';
import { ThemeToggle } from '../../components/ThemeToggle';
import { useDebounced } from '../../lib/useDebounced';
import { canSeeUsers, useMe } from '../auth/api';
import { useConversations, useDeleteConversation, useSearch } from './api';
import { ConversationItem } from './ConversationItem';
import { wordsOf } from './highlight';
import { sectionsOf } from './sections';

export function Sidebar({ onNavigate }: { onNavigate: () => void }) {
  const [q, setQ] = useState('');
  const [archived, setArchived] = useState(false);
  const search = useDebounced(q.trim(), 200);
  const me = useMe();
  const [deleting, setDeleting] = useState<Conversation | null>(null);
  const remove = useDeleteConversation();
  const [, navigate] = useLocation();
  const [, params] = useRoute('/c/:conversationId');
  const conversationId = params?.conversationId;

  async function confirmDelete() {
    const c = deleting;
    setDeleting(null);
    if (!c) return;
    await remove.mutateAsync(c.id).catch(() => undefined);
    if (c.id === conversationId) navigate('/');
  }

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
            aria-label="Search conversations"
            value={q}
            onChange={(e) => setQ(e.target.value)}
          />
        </div>
        <label className="toggle">
          <input type="checkbox" checked={archived} onChange={(e) => setArchived(e.target.checked)} />
          Show archived
        </label>
      </div>

      {search ? (
        <SearchResults q={search} archived={archived} onNavigate={onNavigate} onDelete={setDeleting} />
      ) : (
        <Sections archived={archived} onNavigate={onNavigate} onDelete={setDeleting} />
      )}

      <div className="sidebar-bottom">
        <NavLink to="/account" className="user-link" onClick={onNavigate}>
          <span className="avatar" aria-hidden="true">
            {(me.data?.full_name || me.data?.username || '?').slice(0, 1).toUpperCase()}
          </span>
          <span className="user-name">{me.data?.full_name || me.data?.username}</span>
        </NavLink>
        <NavLink to="/tools" className="icon-button" aria-label="Tools" title="Tools" onClick={onNavigate}>
          <Icon name="tool" />
        </NavLink>
        <NavLink to="/settings" className="icon-button" aria-label="Settings" title="Settings" onClick={onNavigate}>
          <Icon name="settings" />
        </NavLink>
        {canSeeUsers(me.data) && (
          <NavLink to="/admin" className="icon-button" aria-label="Users" title="Users" onClick={onNavigate}>
            <Icon name="users" />
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

interface ListProps {
  archived: boolean;
  onNavigate: () => void;
  onDelete: (c: Conversation) => void;
}

/** The conversations grouped by Pinned, Today, Yesterday, … each a heading and its list. */
function Sections({ archived, onNavigate, onDelete }: ListProps) {
  const list = useConversations({ q: '', archived });
  const sections = sectionsOf(list.data ?? [], new Date());
  return (
    <div className="conversation-list" aria-busy={list.isFetching}>
      {list.isError && <p className="form-error">{messageOf(list.error)}</p>}
      {list.isSuccess && sections.length === 0 && (
        <p className="muted empty">{archived ? 'Nothing archived.' : 'No conversations yet.'}</p>
      )}
      {sections.map((s) => (
        <section key={s.id} className="conversation-section">
          <h2 className="section-title">{s.title}</h2>
          <ul>
            {s.items.map((c) => (
              <ConversationItem key={c.id} conversation={c} onNavigate={onNavigate} onDelete={() => onDelete(c)} />
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}

/** Conversations whose title or messages hold every word, each with an excerpt of the match. */
function SearchResults({ q, ...props }: ListProps & { q: string }) {
  const found = useSearch({ q, archived: props.archived });
  const results = found.data?.results ?? [];
  const words = wordsOf(q);
  return (
    <div className="conversation-list" aria-busy={found.isFetching}>
      <h2 className="section-title">Search results</h2>
      {found.isError && <p className="form-error">{messageOf(found.error)}</p>}
      <p className="visually-hidden" role="status">
        {found.isSuccess ? `${results.length} ${results.length === 1 ? 'conversation' : 'conversations'} found` : ''}
      </p>
      {found.isSuccess && results.length === 0 && <p className="muted empty">No conversation matches.</p>}
      <ul>
        {results.map((hit) => (
          <ConversationItem
            key={hit.conversation.id}
            conversation={hit.conversation}
            snippet={hit.snippet}
            words={words}
            onNavigate={props.onNavigate}
            onDelete={() => props.onDelete(hit.conversation)}
          />
        ))}
      </ul>
    </div>
  );
}
