import type { AnchorHTMLAttributes } from 'react';
import { Link, useLocation } from 'wouter';

type Props = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> & { to: string };

/** A link that says when it is the current page: class `active` and `aria-current="page"`. */
export function NavLink({ to, className, ...rest }: Props) {
  const [path] = useLocation();
  const active = path === to;
  return (
    <Link
      to={to}
      className={[className, active ? 'active' : ''].filter(Boolean).join(' ')}
      aria-current={active ? 'page' : undefined}
      {...rest}
    />
  );
}
