// Renders Slack Block Kit and mrkdwn to HTML for the sandbox page, the way Slack shows them:
// sections with fields and an accessory, headers, dividers, context, actions with styled
// buttons (their confirm dialogs are handled by the page), and modal inputs. Every piece of text
// is HTML-escaped after Slack's own escapes (&amp; &lt; &gt;) are undone, so nothing a user typed
// can become markup.

const entities = { '&amp;': '&', '&lt;': '<', '&gt;': '>' };

export function html(text) {
  return String(text).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
}

/** The emoji shortcodes the bot uses, as Slack shows them. */
const emoji = {
  lock: '🔒',
  unlock: '🔓',
  x: '❌',
  white_check_mark: '✅',
  no_entry: '⛔',
  warning: '⚠️',
  hourglass_flowing_sand: '⏳',
  hourglass: '⌛',
  mag: '🔍',
  heavy_minus_sign: '➖',
  information_source: 'ℹ️',
  inbox_tray: '📥',
  alarm_clock: '⏰',
  rotating_light: '🚨',
  ice_cube: '🧊',
  ballot_box_with_check: '☑️',
  sunny: '☀️',
  raised_hand: '✋',
  link: '🔗',
  ledger: '📒',
  grey_question: '❔',
  bell: '🔔',
  shield: '🛡️',
  no_entry_sign: '🚫',
  memo: '📝',
  boom: '💥',
};

function unslack(text) {
  return String(text)
    .replace(/&amp;|&lt;|&gt;/g, (e) => entities[e])
    .replace(/:([a-z_]+):/g, (whole, name) => emoji[name] ?? whole);
}

let names = {};
/** Slack user id → display name, for mentions. */
export function setNames(people) {
  names = Object.fromEntries(people.map((p) => [p.id, p.name]));
}

function formatDate(seconds, fallback) {
  const date = new Date(Number(seconds) * 1000);
  if (Number.isNaN(date.getTime())) return html(unslack(fallback));
  return html(date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }));
}

/** `<…>` sequences: mentions, dates, links, special mentions. */
function special(inner) {
  if (inner.startsWith('@')) {
    const id = inner.slice(1).split('|')[0];
    return `<span class="mention">@${html(names[id] ?? id)}</span>`;
  }
  if (inner.startsWith('#'))
    return `<span class="mention">#${html(inner.slice(1).split('|')[1] ?? inner.slice(1))}</span>`;
  if (inner.startsWith('!date^')) {
    const [spec, fallback = ''] = inner.split('|');
    return formatDate(spec.split('^')[1], fallback);
  }
  if (inner.startsWith('!')) return `<span class="mention">@${html(inner.slice(1).split('|')[0])}</span>`;
  const [url, label] = inner.split('|');
  if (/^https?:\/\//.test(url)) {
    return `<a href="${html(unslack(url))}" target="_blank" rel="noreferrer">${html(unslack(label ?? url))}</a>`;
  }
  return html(unslack(`<${inner}>`));
}

const inlinePattern = /<([^<>]+)>|```([\s\S]+?)```|`([^`\n]+)`|\*([^*\n]+)\*|_([^_\n]+)_|~([^~\n]+)~/g;

function inline(text) {
  let out = '';
  let last = 0;
  for (const match of text.matchAll(inlinePattern)) {
    out += html(unslack(text.slice(last, match.index)));
    const [, angle, pre, code, bold, italic, strike] = match;
    if (angle !== undefined) out += special(angle);
    else if (pre !== undefined) out += `<pre>${html(unslack(pre))}</pre>`;
    else if (code !== undefined) out += `<code>${html(unslack(code))}</code>`;
    else if (bold !== undefined) out += `<b>${inline(bold)}</b>`;
    else if (italic !== undefined) out += `<i>${inline(italic)}</i>`;
    else out += `<s>${inline(strike)}</s>`;
    last = match.index + match[0].length;
  }
  return out + html(unslack(text.slice(last)));
}

/** Slack mrkdwn to HTML: inline markup, line breaks and `>` quotes. */
export function mrkdwn(text) {
  const lines = String(text ?? '').split('\n');
  let out = '';
  let quote = [];
  const flush = () => {
    if (quote.length > 0) out += `<blockquote>${quote.map(inline).join('<br>')}</blockquote>`;
    quote = [];
  };
  lines.forEach((line, i) => {
    if (line.startsWith('>')) {
      quote.push(line.slice(1));
      return;
    }
    flush();
    out += inline(line) + (i < lines.length - 1 ? '<br>' : '');
  });
  flush();
  return out;
}

function textObject(t) {
  if (!t) return '';
  return t.type === 'mrkdwn' ? mrkdwn(t.text) : html(t.text);
}

/** A button; its data attributes carry what the page sends back when it is clicked. */
function button(element, blockId) {
  const style = element.style ? ` ${element.style}` : '';
  const confirm = element.confirm ? ` data-confirm="${html(JSON.stringify(element.confirm))}"` : '';
  return (
    `<button class="block-button${style}" data-action-id="${html(element.action_id ?? '')}"` +
    ` data-value="${html(element.value ?? '')}" data-block-id="${html(blockId ?? '')}"${confirm}>` +
    `${html(element.text?.text ?? '')}</button>`
  );
}

function inputElement(block) {
  const element = block.element ?? {};
  const name = `${html(block.block_id)}/${html(element.action_id)}`;
  if (element.type === 'static_select') {
    const options = (element.options ?? [])
      .map((o) => {
        const selected = element.initial_option?.value === o.value ? ' selected' : '';
        return `<option value="${html(o.value)}"${selected}>${html(o.text?.text ?? o.value)}</option>`;
      })
      .join('');
    const placeholder = `<option value="">${html(element.placeholder?.text ?? 'Choose…')}</option>`;
    return `<select name="${name}" data-type="static_select">${placeholder}${options}</select>`;
  }
  const value = html(element.initial_value ?? '');
  const placeholder = html(element.placeholder?.text ?? '');
  return element.multiline
    ? `<textarea name="${name}" data-type="plain_text_input" placeholder="${placeholder}">${value}</textarea>`
    : `<input name="${name}" data-type="plain_text_input" placeholder="${placeholder}" value="${value}">`;
}

export function renderBlocks(blocks) {
  return (blocks ?? [])
    .map((block) => {
      switch (block.type) {
        case 'header':
          return `<div class="block header">${html(block.text?.text ?? '')}</div>`;
        case 'divider':
          return '<hr class="block divider">';
        case 'section': {
          const fields = block.fields
            ? `<div class="fields">${block.fields.map((f) => `<div>${textObject(f)}</div>`).join('')}</div>`
            : '';
          const accessory = block.accessory?.type === 'button' ? button(block.accessory, block.block_id) : '';
          return `<div class="block section"><div class="section-body"><div>${textObject(block.text)}</div>${fields}</div>${accessory}</div>`;
        }
        case 'context':
          return `<div class="block context">${(block.elements ?? []).map((e) => `<span>${textObject(e)}</span>`).join(' ')}</div>`;
        case 'actions':
          return `<div class="block actions">${(block.elements ?? [])
            .filter((e) => e.type === 'button')
            .map((e) => button(e, block.block_id))
            .join('')}</div>`;
        case 'input': {
          const optional = block.optional ? ' <span class="optional">(optional)</span>' : '';
          const hint = block.hint ? `<div class="hint">${html(block.hint.text)}</div>` : '';
          return (
            `<div class="block input" data-block-id="${html(block.block_id)}"><label>${html(block.label?.text ?? '')}${optional}</label>` +
            `${inputElement(block)}${hint}<div class="error"></div></div>`
          );
        }
        default:
          return '';
      }
    })
    .join('');
}

/** A message as Slack shows it: the blocks, or the text when there are none. */
export function renderMessage(message) {
  return message.blocks && message.blocks.length > 0 ? renderBlocks(message.blocks) : mrkdwn(message.text);
}
