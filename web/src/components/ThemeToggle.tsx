import { useTheme, type ThemeChoice } from '../lib/theme';
import { Icon } from './Icon';

const next: Record<ThemeChoice, ThemeChoice> = { system: 'light', light: 'dark', dark: 'system' };
const icon = { system: 'monitor', light: 'sun', dark: 'moon' } as const;

export function ThemeToggle() {
  const [theme, setTheme] = useTheme();
  const label = `Theme: ${theme}. Switch to ${next[theme]}`;
  return (
    <button
      type="button"
      className="icon-button"
      onClick={() => setTheme(next[theme])}
      aria-label={label}
      title={label}
    >
      <Icon name={icon[theme]} />
    </button>
  );
}
