/** What a hostile or careless user can type: broadcasts, mentions, fake links, entities. */
export const hostileText =
  '<!channel> <!here> <@U0EVIL> <#C0GENERAL> <https://evil.example|click here> &amp; & *bold* `code` ';

/** The longest reason a request takes, hostile all the way. */
export const worstReason = hostileText.repeat(20).slice(0, 500);
