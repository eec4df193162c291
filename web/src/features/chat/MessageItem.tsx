import { lazy, memo, Suspense, useState, type KeyboardEvent } from 'react';

import type { Message, ToolCall } from '../../api/types.gen';
import { Icon } from '../../components/Icon';
import type { PathEntry } from './branches';
import { MessageMeta } from './MessageMeta';
import type { ReplyStatus } from './stream';
import { ToolCallView } from './ToolCalls';
import { segments } from './toolSegments';

const Markdown = lazy(() => import('./Markdown'));

interface Props {
  entry: PathEntry;
  text: string;
  status: ReplyStatus;
  /** The tools the reply called, shown where they happened in its text. */
  calls: ToolCall[];
  /** The generation producing the reply while it runs. */
  generationId?: string;
  /** Answers a call of a running reply that waits for the user's approval. */
  onAnswer: (generationId: string, callId: string, approved: boolean) => boolean;
  onRegenerate: (m: Message) => void;
  onEdit: (m: Message, content: string) => void;
  onSibling: (id: string) => void;
  /** Offered on the last message of the branch: continue a reply that ended early. */
  onContinue?: (m: Message) => void;
}

function StatusLine({ status }: { status: ReplyStatus }) {
  switch (status.kind) {
    case 'queued':
      return (
        <p className="reply-status">Waiting in line{status.position > 0 ? ` — position ${status.position}` : ''}…</p>
      );
    case 'incomplete':
      if (status.reason === 'cancelled') return <p className="reply-status">Stopped.</p>;
      if (status.reason === 'interrupted') return <p className="reply-status warn">The reply was interrupted.</p>;
      if (status.reason === 'length') {
        return <p className="reply-status warn">The reply was cut off at the length limit.</p>;
      }
      if (status.reason === 'content_filter') {
        return <p className="reply-status warn">The provider&rsquo;s content filter stopped the reply.</p>;
      }
      return (
        <p className="reply-status error" role="alert">
          The reply failed{status.detail ? `: ${status.detail}` : '.'}
        </p>
      );
    default:
      return null;
  }
}

/** Path entries are rebuilt when any message arrives; an unchanged message must not re-render. */
function sameProps(a: Props, b: Props): boolean {
  return (
    a.entry.message === b.entry.message &&
    a.entry.index === b.entry.index &&
    a.entry.siblings.length === b.entry.siblings.length &&
    a.entry.siblings.every((id, i) => id === b.entry.siblings[i]) &&
    a.text === b.text &&
    a.status === b.status &&
    a.calls === b.calls &&
    a.generationId === b.generationId &&
    a.onAnswer === b.onAnswer &&
    a.onRegenerate === b.onRegenerate &&
    a.onEdit === b.onEdit &&
    a.onSibling === b.onSibling &&
    a.onContinue === b.onContinue
  );
}

/** Replies that ended early and can be continued where they stopped. */
const CONTINUABLE = new Set(['cancelled', 'interrupted', 'length']);

export const MessageItem = memo(function MessageItem({
  entry,
  text,
  status,
  calls,
  generationId,
  onAnswer,
  onRegenerate,
  onEdit,
  onSibling,
  onContinue,
}: Props) {
  const { message, siblings, index } = entry;
  const [editing, setEditing] = useState(false);
  const [copied, setCopied] = useState(false);
  const isUser = message.role === 'user';
  const streaming = status.kind === 'streaming' || status.kind === 'queued';
  const failed = status.kind === 'incomplete' && status.reason === 'failed';
  const canContinue = onContinue && status.kind === 'incomplete' && CONTINUABLE.has(status.reason);

  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      setCopied(false);
    }
  }

  function onEditKey(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      save(e.currentTarget.value);
    }
    if (e.key === 'Escape') {
      // Esc leaves the editor (and does not also stop a running reply).
      e.preventDefault();
      setEditing(false);
    }
  }

  function save(value: string) {
    const content = value.trim();
    if (!content) return;
    setEditing(false);
    if (content !== message.content) onEdit(message, content);
  }

  return (
    <article
      className={`message ${isUser ? 'from-user' : 'from-assistant'}`}
      aria-label={isUser ? 'You said' : 'Assistant said'}
      data-status={status.kind === 'incomplete' ? status.reason : status.kind}
      data-message-id={message.id}
    >
      {editing ? (
        <form
          className="edit-form"
          onSubmit={(e) => {
            e.preventDefault();
            save(new FormData(e.currentTarget).get('content') as string);
          }}
        >
          <label className="visually-hidden" htmlFor={`edit-${message.id}`}>
            Edit your message
          </label>
          <textarea
            id={`edit-${message.id}`}
            name="content"
            defaultValue={message.content}
            autoFocus
            rows={3}
            onKeyDown={onEditKey}
          />
          <div className="edit-actions">
            <button type="button" className="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
            <button type="submit" className="button primary">
              Save & send
            </button>
          </div>
        </form>
      ) : (
        <div className="bubble">
          {isUser ? (
            <p className="plain">{text}</p>
          ) : calls.length > 0 ? (
            segments(text, calls).map((part, i) => (
              <div key={i} className="reply-part">
                {part.text.trim() && (
                  <Suspense fallback={<p className="plain">{part.text}</p>}>
                    <div className="markdown">
                      <Markdown text={part.text} highlight={!streaming} />
                    </div>
                  </Suspense>
                )}
                {part.calls.map((call) => (
                  <ToolCallView
                    key={call.id}
                    call={call}
                    running={streaming}
                    onAnswer={generationId ? (approved) => onAnswer(generationId, call.id, approved) : undefined}
                  />
                ))}
              </div>
            ))
          ) : text ? (
            <Suspense fallback={<p className="plain">{text}</p>}>
              <div className="markdown">
                <Markdown text={text} highlight={!streaming} />
              </div>
            </Suspense>
          ) : streaming ? (
            <p className="typing" aria-label="The assistant is writing">
              <span />
              <span />
              <span />
            </p>
          ) : null}
          {streaming && text && <span className="caret" aria-hidden="true" />}
          <StatusLine status={status} />
        </div>
      )}

      {!editing && (
        <div className="message-actions">
          <MessageMeta message={message} />
          {siblings.length > 1 && (
            <span className="siblings">
              <button
                type="button"
                className="icon-button small"
                aria-label="Previous version"
                title="Previous version"
                disabled={index <= 0}
                onClick={() => onSibling(siblings[index - 1]!)}
              >
                <Icon name="left" size={14} />
              </button>
              <span aria-label={`Version ${index + 1} of ${siblings.length}`}>
                {index + 1}/{siblings.length}
              </span>
              <button
                type="button"
                className="icon-button small"
                aria-label="Next version"
                title="Next version"
                disabled={index >= siblings.length - 1}
                onClick={() => onSibling(siblings[index + 1]!)}
              >
                <Icon name="right" size={14} />
              </button>
            </span>
          )}
          {isUser ? (
            <button
              type="button"
              className="icon-button small"
              aria-label="Edit message"
              title="Edit message"
              onClick={() => setEditing(true)}
            >
              <Icon name="edit" size={16} />
            </button>
          ) : (
            <>
              {text && (
                <button
                  type="button"
                  className="icon-button small"
                  aria-label={copied ? 'Copied' : 'Copy reply'}
                  title={copied ? 'Copied' : 'Copy reply'}
                  onClick={copy}
                >
                  <Icon name={copied ? 'check' : 'copy'} size={16} />
                </button>
              )}
              {canContinue && (
                <button type="button" className="button small" onClick={() => onContinue(message)}>
                  <Icon name="right" size={16} /> Continue
                </button>
              )}
              {!streaming && (
                <button
                  type="button"
                  className={failed ? 'button small' : 'icon-button small'}
                  aria-label={failed ? 'Retry' : 'Regenerate reply'}
                  title={failed ? 'Retry' : 'Regenerate reply'}
                  onClick={() => onRegenerate(message)}
                >
                  <Icon name="retry" size={16} />
                  {failed && ' Retry'}
                </button>
              )}
            </>
          )}
        </div>
      )}
    </article>
  );
}, sameProps);
