import { useState, type ComponentProps, type ReactNode } from 'react';
import ReactMarkdown, { type Components, type ExtraProps } from 'react-markdown';
import rehypeHighlight from 'rehype-highlight';
import remarkGfm from 'remark-gfm';

import { Icon } from '../../components/Icon';

/** Only these link targets are followed; anything else (javascript:, data:, …) stays text. */
const SAFE_URL = /^(https?:|mailto:|#|\/)/i;

function textOf(node: ReactNode): string {
  if (typeof node === 'string' || typeof node === 'number') return String(node);
  if (Array.isArray(node)) return node.map(textOf).join('');
  if (node && typeof node === 'object' && 'props' in node) {
    return textOf((node as { props: { children?: ReactNode } }).props.children);
  }
  return '';
}

/** `node` (the syntax tree's element) is for components, not the DOM: it is left out. */
function CodeBlock({ children, node, ...rest }: ComponentProps<'pre'> & ExtraProps) {
  const [copied, setCopied] = useState(false);
  const code = textOf(children);
  const language = /language-(\w+)/.exec(
    (children as { props?: { className?: string } } | undefined)?.props?.className ?? '',
  )?.[1];
  async function copy() {
    try {
      await navigator.clipboard.writeText(code.replace(/\n$/, ''));
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      setCopied(false);
    }
  }
  return (
    <div className="code-block">
      <div className="code-head">
        <span>{language ?? 'text'}</span>
        <button type="button" className="code-copy" onClick={copy} aria-label="Copy code">
          <Icon name={copied ? 'check' : 'copy'} size={14} /> {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      {/* Focusable, so a long line can be scrolled into view from the keyboard. */}
      <pre {...rest} tabIndex={0}>
        {children}
      </pre>
    </div>
  );
}

const components: Components = {
  a: ({ href, children }) =>
    href && SAFE_URL.test(href) ? (
      <a href={href} target="_blank" rel="noopener noreferrer nofollow">
        {children}
      </a>
    ) : (
      <span>{children}</span>
    ),
  // Images would fetch from wherever the model says (and the CSP refuses them): show a link.
  img: ({ src, alt }) =>
    typeof src === 'string' && SAFE_URL.test(src) ? (
      <a href={src} target="_blank" rel="noopener noreferrer nofollow">
        {alt || src}
      </a>
    ) : (
      <span>{alt}</span>
    ),
  pre: CodeBlock,
  table: ({ children }) => (
    <div className="table-wrap" tabIndex={0}>
      <table>{children}</table>
    </div>
  ),
};

/**
 * Model output as Markdown (GFM). Raw HTML in it is shown as text, never parsed: react-markdown
 * leaves HTML out unless a raw-HTML plugin is added, and none is. Highlighting waits until the
 * reply is complete, so streaming stays cheap.
 */
export default function Markdown({ text, highlight }: { text: string; highlight: boolean }) {
  return (
    <ReactMarkdown
      remarkPlugins={[remarkGfm]}
      rehypePlugins={highlight ? [[rehypeHighlight, { detect: false, ignoreMissing: true }]] : []}
      components={components}
      skipHtml
    >
      {text}
    </ReactMarkdown>
  );
}
