// Container IDs and names, as Docker makes and checks them.
import { randomBytes } from 'node:crypto';

/** A container ID is 64 hex digits (32 random bytes); the short form is 12. */
export function newContainerId(): string {
  // Docker re-draws IDs that are all digits, so that a short ID can never be
  // mistaken for a number (strconv would accept it as one).
  for (;;) {
    const id = randomBytes(32).toString('hex');
    if (!/^\d+$/.test(id.slice(0, 12))) return id;
  }
}

export const shortId = (id: string) => id.slice(0, 12);

// Docker's rule for names: a letter or digit, then letters, digits, _ . -
// (at least two characters in all). A leading "/" is accepted and dropped.
const NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function validateName(name: string): string {
  if (!NAME.test(name)) {
    throw new Error(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  return name.replace(/^\//, '');
}

// Generated names are adjective_surname, as in Docker. These word lists are
// dockling's own: moods, and people who shaped operating systems and networks.
const ADJECTIVES = [
  'brave', 'calm', 'clever', 'curious', 'eager', 'gentle', 'happy', 'jolly', 'keen', 'kind',
  'lucid', 'merry', 'nimble', 'patient', 'quiet', 'quirky', 'serene', 'sharp', 'steady', 'swift',
  'tidy', 'upbeat', 'vivid', 'witty', 'zealous', 'bold', 'cheerful', 'daring', 'frosty', 'humble',
];
const SURNAMES = [
  'thompson', 'ritchie', 'torvalds', 'hopper', 'lovelace', 'cerf', 'kahn', 'postel', 'mccarthy',
  'liskov', 'lamport', 'knuth', 'dijkstra', 'hamilton', 'perlman', 'bell', 'kernighan', 'pike',
  'mcilroy', 'tanenbaum', 'corbato', 'allen', 'backus', 'wirth', 'hoare', 'engelbart', 'joy',
  'stallman', 'floyd', 'metcalfe',
];

export function generateName(taken: (n: string) => boolean): string {
  for (let i = 0; ; i++) {
    const a = ADJECTIVES[randomBytes(1)[0] % ADJECTIVES.length];
    const s = SURNAMES[randomBytes(1)[0] % SURNAMES.length];
    // After a few collisions Docker appends a digit; so do we.
    const name = i < 5 ? `${a}_${s}` : `${a}_${s}${randomBytes(1)[0] % 10}`;
    if (!taken(name)) return name;
  }
}
