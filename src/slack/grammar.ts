import { parseRequestId } from '../domain/ids.js';
import { escapeText } from './views/text.js';

/**
 * The `/jit` grammar (SPEC: "Slash command grammar"), parsed into one command. Parsing is pure;
 * checking against the policy (does the resource exist, is the duration allowed) happens in the
 * use cases, which know the policy.
 */
export type JitCommand =
  | { kind: 'open-modal' }
  | { kind: 'request' | 'break-glass'; resource: string; duration: string; reason: string }
  | { kind: 'list' }
  | { kind: 'pending' }
  | { kind: 'help' }
  | { kind: 'release'; requestId: string }
  | { kind: 'extend'; requestId: string; duration: string }
  | { kind: 'revoke' | 'freeze'; target: Target; reason: string }
  | { kind: 'unfreeze'; target: Target }
  | { kind: 'audit'; target: Target | null }
  | { kind: 'invalid'; message: string };

export type Target =
  | { kind: 'request'; requestId: string }
  | { kind: 'user'; userId: string }
  | { kind: 'all' }
  | { kind: 'resource'; resource: string };

const usage: Record<string, string> = {
  request: '/jit request <resource> <duration> <reason…>',
  'break-glass': '/jit break-glass <resource> <duration> <reason…>',
  release: '/jit release <id>',
  extend: '/jit extend <id> <duration>',
  revoke: '/jit revoke <id|@user|resource> <reason…>',
  freeze: '/jit freeze <resource|@user|all> <reason…>',
  unfreeze: '/jit unfreeze <resource|@user|all>',
  audit: '/jit audit [id|@user]',
};

export function parseJitCommand(text: string): JitCommand {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [verb = '', ...args] = words;
  const rest = (from: number) => args.slice(from).join(' ');
  switch (verb.toLowerCase()) {
    case '':
      return { kind: 'open-modal' };
    case 'request': {
      if (args.length === 0) return { kind: 'open-modal' };
      const [resource, duration] = args;
      if (!resource || !duration || args.length < 3)
        return invalid('request', 'needs a resource, a duration and a reason');
      return { kind: 'request', resource: resource.toLowerCase(), duration, reason: rest(2) };
    }
    case 'break-glass': {
      const [resource, duration] = args;
      if (!resource || !duration || args.length < 3)
        return invalid('break-glass', 'needs a resource, a duration and a reason (what is broken)');
      return { kind: 'break-glass', resource: resource.toLowerCase(), duration, reason: rest(2) };
    }
    case 'list':
      return args.length === 0 ? { kind: 'list' } : invalid('list', 'takes no arguments', '/jit list');
    case 'pending':
      return args.length === 0
        ? { kind: 'pending' }
        : invalid('pending', 'takes no arguments', '/jit pending');
    case 'help':
      return { kind: 'help' };
    case 'release': {
      const requestId = args.length === 1 ? parseRequestId(args[0] as string) : null;
      return requestId
        ? { kind: 'release', requestId }
        : invalid('release', 'needs one request id like JIT-7K2MQ9');
    }
    case 'extend': {
      const requestId = args.length === 2 ? parseRequestId(args[0] as string) : null;
      return requestId
        ? { kind: 'extend', requestId, duration: args[1] as string }
        : invalid('extend', 'needs a request id and a duration');
    }
    case 'revoke':
    case 'freeze': {
      const kind = verb.toLowerCase() as 'revoke' | 'freeze';
      const target = args[0] ? parseTarget(args[0]) : null;
      if (!target || args.length < 2) return invalid(kind, 'needs a target and a reason');
      if (kind === 'freeze' && target.kind === 'request')
        return invalid(kind, 'freezes a resource, a user or all');
      if (kind === 'revoke' && target.kind === 'all')
        return invalid(kind, 'revokes one request, user or resource (use freeze all)');
      return { kind, target, reason: rest(1) };
    }
    case 'unfreeze': {
      const target = args.length === 1 ? parseTarget(args[0] as string) : null;
      if (!target || target.kind === 'request') return invalid('unfreeze', 'needs a resource, a user or all');
      return { kind: 'unfreeze', target };
    }
    case 'audit': {
      if (args.length === 0) return { kind: 'audit', target: null };
      const target = args.length === 1 ? parseTarget(args[0] as string) : null;
      if (!target || (target.kind !== 'request' && target.kind !== 'user'))
        return invalid('audit', 'takes a request id or a @user');
      return { kind: 'audit', target };
    }
    default:
      // Shown as mrkdwn: what the user typed must not become a mention or a broadcast.
      return {
        kind: 'invalid',
        message: `Unknown command "${escapeText(verb.slice(0, 30))}". Try \`/jit help\`.`,
      };
  }
}

/** `<@U123>` or `<@U123|name>` (how Slack sends a mention), a request id, `all`, or a resource. */
export function parseTarget(word: string): Target | null {
  const user = /^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$/.exec(word);
  if (user) return { kind: 'user', userId: user[1] as string };
  const requestId = parseRequestId(word);
  if (requestId) return { kind: 'request', requestId };
  if (word.toLowerCase() === 'all') return { kind: 'all' };
  if (/^[a-z0-9][a-z0-9_-]{0,62}$/i.test(word)) return { kind: 'resource', resource: word.toLowerCase() };
  return null;
}

function invalid(verb: string, problem: string, example = usage[verb]): JitCommand {
  return { kind: 'invalid', message: `\`/jit ${verb}\` ${problem}. Usage: \`${example}\`` };
}
