/**
 * Which grants a closed pull request recalls: those whose reason names it, by URL
 * (`https://github.com/acme/api/pull/123`, also `/files`, `#discussion…`, `?…`) or in GitHub's
 * short form (`acme/api#123`). Pure, so every near miss (`#12` for `#123`, another repository)
 * is pinned down by a table test.
 */

export interface PullRequestRef {
  owner: string;
  repo: string;
  number: number;
  /** The PR's `html_url`; its host is accepted too (GitHub Enterprise Server). */
  url?: string;
}

const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Before a URL: not part of a longer host or path (`notgithub.com`, `evil.example/github.com`).
 * Before `owner/repo#N`: not part of a longer owner or path (`xacme/api#1`, `x/acme/api#1`).
 * After the number: no more digits or word characters, so `#12` never matches `#123`.
 */
const urlStart = '(?:^|[^A-Za-z0-9./-])';
const shortStart = '(?:^|[^A-Za-z0-9._/-])';
const numberEnd = '(?![A-Za-z0-9_])';

export function reasonNamesPullRequest(reason: string, pr: PullRequestRef): boolean {
  if (!Number.isSafeInteger(pr.number) || pr.number <= 0) return false;
  const path = `${literal(pr.owner)}/${literal(pr.repo)}`;
  const hosts = new Set(['github.com', hostOf(pr.url)].filter((h): h is string => h !== null));
  const hostAlternatives = [...hosts].map(literal).join('|');
  const byUrl = new RegExp(
    `${urlStart}(?:https?://)?(?:www\\.)?(?:${hostAlternatives})/${path}/pull/${pr.number}${numberEnd}`,
    'i',
  );
  const byShortForm = new RegExp(`${shortStart}${path}#${pr.number}${numberEnd}`, 'i');
  return byUrl.test(reason) || byShortForm.test(reason);
}

function hostOf(url: string | undefined): string | null {
  if (!url) return null;
  try {
    return new URL(url).host.toLowerCase() || null;
  } catch {
    return null;
  }
}
