import { describe, expect, it } from 'vitest';
import { reasonNamesPullRequest } from '../../src/domain/recall.js';

const pr = { owner: 'acme', repo: 'api', number: 123, url: 'https://github.com/acme/api/pull/123' };

describe('reasonNamesPullRequest', () => {
  it.each([
    ['the URL', 'deploying https://github.com/acme/api/pull/123'],
    ['the URL with a trailing slash', 'see https://github.com/acme/api/pull/123/ please'],
    ['the URL of the files tab', 'https://github.com/acme/api/pull/123/files'],
    ['the URL with a fragment', 'https://github.com/acme/api/pull/123#discussion_r42'],
    ['the URL with a query', 'https://github.com/acme/api/pull/123?w=1'],
    ['the URL at the end of a sentence', 'reviewing https://github.com/acme/api/pull/123.'],
    ['the URL in Slack link markup', 'for <https://github.com/acme/api/pull/123|the fix>'],
    ['the URL without the scheme', 'github.com/acme/api/pull/123'],
    ['the URL with www', 'https://www.github.com/acme/api/pull/123'],
    ['the URL in other case', 'HTTPS://GitHub.com/ACME/Api/pull/123'],
    ['the short form', 'hotfix for acme/api#123'],
    ['the short form in parentheses', 'hotfix (acme/api#123)'],
    ['the short form at the start, in other case', 'Acme/API#123: migrate the table'],
    ['the short form followed by punctuation', 'acme/api#123, then cleanup'],
  ])('matches %s', (_what, reason) => {
    expect(reasonNamesPullRequest(reason, pr)).toBe(true);
  });

  it.each([
    ['another number that starts the same', 'https://github.com/acme/api/pull/1234'],
    ['the short form of a longer number', 'acme/api#1234'],
    ['a number this one starts with', 'acme/api#12'],
    ['another repository of the owner', 'acme/web#123'],
    ['a repository whose name ends the same', 'acme/my-api#123'],
    ['a repository whose name starts the same', 'acme/api-v2#123'],
    ['an owner whose name ends the same', 'xacme/api#123'],
    ['the same path under another owner', 'other/acme/api#123'],
    ['the URL of another repository', 'https://github.com/acme/web/pull/123'],
    ['the URL of an issue', 'https://github.com/acme/api/issues/123'],
    ['a host that only ends the same', 'https://notgithub.com/acme/api/pull/123'],
    ['github.com inside another URL', 'https://evil.example/github.com/acme/api/pull/123'],
    ['only the number', 'fixing #123 in acme api'],
    ['a number glued to letters', 'acme/api#123abc'],
  ])('does not match %s', (_what, reason) => {
    expect(reasonNamesPullRequest(reason, pr)).toBe(false);
  });

  it('matches the host of the pull request URL (GitHub Enterprise Server)', () => {
    const enterprise = { ...pr, url: 'https://git.example.com/acme/api/pull/123' };
    expect(reasonNamesPullRequest('https://git.example.com/acme/api/pull/123', enterprise)).toBe(true);
    expect(reasonNamesPullRequest('https://github.com/acme/api/pull/123', enterprise)).toBe(true);
    expect(reasonNamesPullRequest('https://git.example.com/acme/api/pull/123', pr)).toBe(false);
  });

  it('treats owner and repository names as text, not as patterns', () => {
    const dotted = { owner: 'acme', repo: 'api.js', number: 7 };
    expect(reasonNamesPullRequest('acme/api.js#7', dotted)).toBe(true);
    expect(reasonNamesPullRequest('acme/apixjs#7', dotted)).toBe(false);
  });

  it('matches nothing for a number that is not a pull request number', () => {
    expect(reasonNamesPullRequest('acme/api#0', { ...pr, number: 0 })).toBe(false);
    expect(reasonNamesPullRequest('acme/api#NaN', { ...pr, number: Number.NaN })).toBe(false);
  });
});
