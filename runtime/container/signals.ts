// Signal names as Docker takes them: "SIGTERM", "TERM", "term" or "15".
import os from 'node:os';

/** The signal's number, or null when it names no signal. */
export function signalNumber(s: string): number | null {
  if (/^\d+$/.test(s)) return Number(s) >= 1 && Number(s) <= 64 ? Number(s) : null;
  const name = s.toUpperCase().startsWith('SIG') ? s.toUpperCase() : 'SIG' + s.toUpperCase();
  return (os.constants.signals as Record<string, number>)[name] ?? null;
}
