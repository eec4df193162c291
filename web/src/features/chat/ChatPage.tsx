import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useLocation, useParams } from 'wouter';

import { messageOf } from '../../api/errors';
import type { ClientAction, Message } from '../../api/types.gen';
import { usePageTitle } from '../../lib/pageTitle';
import { isAdmin, useMe } from '../auth/api';
import { createConversation, useConversation, useUpdateConversation } from '../conversations/api';
import { useSettings } from '../settings/api';
import { postMessage, useModels, useRefreshModels } from './api';
import { chosenLeaf, loadChoice, saveChoice } from './branchChoice';
import { activePath, newestDescendant } from './branches';
import { ChatHeader } from './ChatHeader';
import { Composer } from './Composer';
import { MessageItem } from './MessageItem';
import { MessageList } from './MessageList';
import { setPendingMessage, takePendingMessage } from './pending';
import { displayOf, ordered, runningReply } from './stream';
import { useChatStore, useConnection, useSocketError, useStream } from './useChat';
import { useMessagePages } from './useMessages';

const DEFAULT_TITLE = 'New conversation';

export function ChatPage() {
  const { conversationId } = useParams();
  return conversationId ? <Conversation key={conversationId} id={conversationId} /> : <NewChat />;
}

/** The empty chat: the conversation is created with the first message. */
function NewChat() {
  const [, navigate] = useLocation();
  const models = useModels();
  const refreshModels = useRefreshModels();
  const me = useMe();
  const connection = useConnection();
  const settings = useSettings();
  const [model, setModel] = useState('');
  // null until changed here: the user's default (Settings) applies.
  const [systemPrompt, setSystemPrompt] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  usePageTitle('New chat');
  const preferred = settings.data?.default_model;
  const offered = Boolean(preferred && models.data?.models.some((m) => m.id === preferred));
  const chosen = model || (offered ? preferred! : models.data?.default_model || '');
  const prompt = systemPrompt ?? settings.data?.default_system_prompt ?? '';

  async function send(content: string) {
    setError(null);
    // What the page shows is what is asked for; before the settings are known, the server
    // applies the user's defaults itself.
    const known = settings.isSuccess;
    try {
      const c = await createConversation({
        title: DEFAULT_TITLE,
        ...((model || known) && chosen ? { model: chosen } : {}),
        ...(systemPrompt !== null || known ? { system_prompt: prompt } : {}),
      });
      setPendingMessage(c.id, content);
      navigate(`/c/${c.id}`);
      return true;
    } catch (err) {
      setError(messageOf(err));
      return false;
    }
  }

  return (
    <main className="chat" aria-label="New chat">
      <ChatHeader
        title="New chat"
        models={models.data}
        model={chosen}
        onModel={setModel}
        onRefreshModels={isAdmin(me.data) ? refreshModels : undefined}
        systemPrompt={prompt}
        onSystemPrompt={async (p) => setSystemPrompt(p)}
        connection={connection}
      />
      <div className="message-scroller">
        <div className="welcome">
          <h2>How can I help?</h2>
          <p className="muted">Replies stream live and keep going through a reload or a dropped connection.</p>
        </div>
      </div>
      <div className="composer-wrap">
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <Composer onSend={send} onStop={null} draftKey="new" />
      </div>
    </main>
  );
}

function Conversation({ id }: { id: string }) {
  const store = useChatStore();
  const stream = useStream(id);
  const connection = useConnection();
  const socketError = useSocketError();
  const conversation = useConversation(id);
  const models = useModels();
  const refreshModels = useRefreshModels();
  const me = useMe();
  const update = useUpdateConversation();
  const [, navigate] = useLocation();
  const [choice, setChoice] = useState(() => loadChoice(id));
  const [error, setError] = useState<string | null>(null);
  const pages = useMessagePages(id, store, connection);
  const watched = useRef<Promise<void>>(Promise.resolve());

  // Watch the conversation on the socket (its newest page of messages loads beside it).
  useEffect(() => {
    watched.current = store.socket.watch(id);
    const first = takePendingMessage(id);
    if (first) void send(first);
    return () => store.socket.unwatch(id);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- once per conversation (the component is keyed by id)
  }, [id, store]);

  const all = useMemo(() => ordered(stream), [stream.messages]); // eslint-disable-line react-hooks/exhaustive-deps
  const newest = all.at(-1)?.position ?? 0;
  const leaf = chosenLeaf(choice, newest, (m) => m in stream.messages);
  const path = useMemo(() => activePath(all, leaf), [all, leaf]);
  const running = runningReply(stream);

  // One announcement when a reply ends, not one per token.
  const finished = stream.finished;
  const announcement = !finished
    ? ''
    : finished.status.kind === 'complete'
      ? 'The reply is complete.'
      : finished.status.kind === 'incomplete' && finished.status.reason === 'cancelled'
        ? 'The reply was stopped.'
        : finished.status.kind === 'incomplete' && finished.status.reason === 'length'
          ? 'The reply was cut off at the length limit.'
          : 'The reply failed.';

  const answerToolCall = useCallback(
    (generationId: string, callId: string, approved: boolean) => {
      const data = { generation_id: generationId, call_id: callId, approved };
      const sent = store.socket.send({ action: 'answer_tool_call', data });
      if (!sent) setError('Not connected: the tool call cannot be answered until the connection is back.');
      return sent;
    },
    [store],
  );

  const stop = useCallback(() => {
    if (running && !store.socket.send({ action: 'stop', data: { generation_id: running.generationId } })) {
      setError('Not connected: the reply cannot be stopped until the connection is back.');
    }
  }, [running, store]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      // Esc belongs to an open dialog, menu or editor first.
      if (e.key !== 'Escape' || e.defaultPrevented || !running) return;
      if (document.querySelector('dialog[open]')) return;
      stop();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [running, stop]);

  /** Back to the newest branch (after the user acts, the new message is the newest). */
  const followNewest = useCallback(() => {
    setChoice(null);
    saveChoice(id, null);
  }, [id]);

  async function send(content: string): Promise<boolean> {
    setError(null);
    await watched.current;
    // A follow-up answers the branch on screen, not whatever message is newest.
    const parent = pathRef.current.at(-1)?.message.id;
    followNewest();
    try {
      const { generation_id, ...message } = await postMessage(id, content, parent);
      store.dispatch(id, { type: 'message', message });
      return true;
    } catch (err) {
      setError(messageOf(err));
      return false;
    }
  }

  const act = useCallback(
    (action: ClientAction) => {
      setError(null);
      followNewest();
      if (!store.socket.send(action)) setError('Not connected: try again when the connection is back.');
    },
    [store, followNewest],
  );
  const regenerate = useCallback((m: Message) => act({ action: 'regenerate', data: { message_id: m.id } }), [act]);
  const edit = useCallback(
    (m: Message, content: string) => act({ action: 'edit_message', data: { message_id: m.id, content } }),
    [act],
  );
  const continueReply = useCallback((m: Message) => act({ action: 'continue', data: { message_id: m.id } }), [act]);

  // Stable across new messages, so the rendered messages are not all rendered again.
  const allRef = useRef(all);
  const pathRef = useRef(path);
  useEffect(() => {
    allRef.current = all;
    pathRef.current = path;
  }, [all, path]);
  const showSibling = useCallback(
    (sibling: string) => {
      const chosen = { leaf: newestDescendant(allRef.current, sibling), newest: allRef.current.at(-1)?.position ?? 0 };
      setChoice(chosen);
      saveChoice(id, chosen);
    },
    [id],
  );

  const c = conversation.data;
  usePageTitle(conversation.isError && !c ? 'Conversation not found' : c?.title);
  if (conversation.isError && !c) {
    return (
      <main className="chat">
        <div className="page">
          <p className="form-error" role="alert">
            {messageOf(conversation.error)}
          </p>
          <button type="button" className="button" onClick={() => navigate('/')}>
            Start a new chat
          </button>
        </div>
      </main>
    );
  }

  const model = c?.model ?? models.data?.default_model ?? '';
  return (
    <main className="chat" aria-label={c?.title ?? 'Conversation'}>
      <ChatHeader
        title={c?.title ?? ''}
        models={models.data}
        model={model}
        onModel={(m) => update.mutate({ id, patch: { model: m } })}
        onRefreshModels={isAdmin(me.data) ? refreshModels : undefined}
        systemPrompt={c?.system_prompt ?? ''}
        onSystemPrompt={async (p) => void (await update.mutateAsync({ id, patch: { system_prompt: p } }))}
        connection={connection}
        tools={
          c
            ? {
                choice: c.mcp_servers ?? { mode: 'all' },
                onChange: async (choice) => void (await update.mutateAsync({ id, patch: { mcp_servers: choice } })),
              }
            : undefined
        }
      />
      <MessageList
        count={path.length}
        hasOlder={pages.hasOlder}
        loadOlder={pages.loadOlder}
        itemKey={(i) => path[i]!.message.id}
        render={(i) => {
          const entry = path[i]!;
          const shown = displayOf(stream, entry.message);
          return (
            <MessageItem
              key={entry.message.id}
              entry={entry}
              text={shown.text}
              status={shown.status}
              calls={shown.calls}
              generationId={shown.generationId}
              onAnswer={answerToolCall}
              onRegenerate={regenerate}
              onEdit={edit}
              onSibling={showSibling}
              onContinue={i === path.length - 1 ? continueReply : undefined}
            />
          );
        }}
      />
      <div className="composer-wrap">
        {(pages.waiting || (conversation.isPending && conversation.failureCount > 0)) && (
          <p className="notice" role="status">
            Cannot reach the server — trying again…
            <button
              type="button"
              className="link-button"
              onClick={() => {
                pages.retryNow();
                void conversation.refetch();
              }}
            >
              Retry now
            </button>
          </p>
        )}
        {(error || pages.error || socketError) && (
          <p className="form-error" role="alert">
            {error ?? pages.error ?? socketError}
            <button
              type="button"
              className="link-button"
              onClick={() => {
                setError(null);
                store.clearError();
              }}
            >
              Dismiss
            </button>
          </p>
        )}
        <Composer onSend={send} onStop={running ? stop : null} draftKey={id} />
      </div>
      <div className="visually-hidden" aria-live="polite" role="status">
        {finished && <p key={finished.messageId}>{announcement}</p>}
      </div>
    </main>
  );
}
