import type { Message } from '../../api/types.gen';
import { fullTime, shortTime } from '../../lib/time';

/** When a message was written (short; the full date in its tooltip) and, for a reply, by which model. */
export function MessageMeta({ message }: { message: Message }) {
  const at = new Date(message.created_at);
  const dated = !Number.isNaN(at.getTime());
  const model = message.role === 'assistant' ? message.model : null;
  if (!dated && !model) return null;
  return (
    <span className="message-meta">
      {dated && (
        <time dateTime={at.toISOString()} title={fullTime(at)}>
          {shortTime(at, new Date())}
        </time>
      )}
      {model && (
        <span className="message-model" title={`Written by ${model}`}>
          {model}
        </span>
      )}
    </span>
  );
}
