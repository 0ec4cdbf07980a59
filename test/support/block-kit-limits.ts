/**
 * The Block Kit rules Slack enforces on `chat.*`, `views.*` and response_url posts, reported the
 * way Slack reports them: `[ERROR] <what> [json-pointer:<where>]`. The fake Slack server rejects
 * any payload with a violation, so a builder that would fail in production fails in tests too.
 */

export type Surface = 'message' | 'modal' | 'home';

const MAX_BLOCKS: Record<Surface, number> = { message: 50, modal: 100, home: 100 };

const INPUT_ELEMENTS = [
  'plain_text_input',
  'email_text_input',
  'url_text_input',
  'number_input',
  'rich_text_input',
  'file_input',
  'datepicker',
  'timepicker',
  'datetimepicker',
  'checkboxes',
  'radio_buttons',
  'static_select',
  'multi_static_select',
  'external_select',
  'multi_external_select',
  'users_select',
  'multi_users_select',
  'conversations_select',
  'multi_conversations_select',
  'channels_select',
  'multi_channels_select',
];
const INTERACTIVE_ELEMENTS = ['button', 'overflow', ...INPUT_ELEMENTS];
const ALL_ELEMENTS = ['image', ...INTERACTIVE_ELEMENTS];
const UNCHECKED_BLOCKS = ['rich_text', 'video', 'file', 'table', 'markdown'];

type Json = Record<string, unknown>;

interface TextRule {
  max: number;
  plainOnly?: boolean;
  optional?: boolean;
}

/** One surface's worth of checking; collects every violation instead of stopping at the first. */
class Checker {
  readonly out: string[] = [];

  error(what: string, pointer: string): void {
    this.out.push(`[ERROR] ${what} [json-pointer:${pointer}]`);
  }

  object(value: unknown, pointer: string): value is Json {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return true;
    this.error('must provide an object', pointer);
    return false;
  }

  array(value: unknown, pointer: string, min: number, max: number): value is unknown[] {
    if (!Array.isArray(value)) {
      this.error('must provide an array', pointer);
      return false;
    }
    if (value.length < min) this.error(`must provide at least ${min} items`, pointer);
    if (value.length > max) this.error(`no more than ${max} items allowed`, pointer);
    return true;
  }

  string(value: unknown, pointer: string, max: number, optional = true): void {
    if (value === undefined && optional) return;
    if (typeof value !== 'string') this.error('must provide a string', pointer);
    else if (value.length > max) this.error(`must be less than ${max + 1} characters`, pointer);
  }

  oneOf(value: unknown, pointer: string, allowed: readonly string[], optional = true): void {
    if (value === undefined && optional) return;
    if (value === undefined) this.error('missing required field: type', pointer);
    else if (typeof value !== 'string' || !allowed.includes(value)) {
      this.error('must be a valid enum value', pointer);
    }
  }

  text(value: unknown, pointer: string, rule: TextRule): void {
    if (value === undefined) {
      if (!rule.optional) this.error(`missing required field: ${lastSegment(pointer)}`, pointer);
      return;
    }
    if (!this.object(value, pointer)) return;
    const types = rule.plainOnly ? ['plain_text'] : ['plain_text', 'mrkdwn'];
    this.oneOf(value.type, `${pointer}/type`, types, false);
    if (value.text === '') this.error('must be more than 0 characters', `${pointer}/text`);
    this.string(value.text, `${pointer}/text`, rule.max, false);
  }

  blocks(blocks: unknown, pointer: string, surface: Surface): void {
    if (!this.array(blocks, pointer, 0, MAX_BLOCKS[surface])) return;
    const blockIds = new Set<string>();
    blocks.forEach((block, i) => {
      const at = `${pointer}/${i}`;
      if (!this.object(block, at)) return;
      const id = block.block_id;
      this.string(id, `${at}/block_id`, 255);
      if (typeof id === 'string') {
        if (blockIds.has(id)) this.error('must be unique', `${at}/block_id`);
        blockIds.add(id);
      }
      this.block(block, at);
    });
  }

  private block(block: Json, at: string): void {
    const type = block.type;
    if (type === 'section') {
      this.section(block, at);
    } else if (type === 'header') {
      this.text(block.text, `${at}/text`, { max: 150, plainOnly: true });
    } else if (type === 'actions') {
      this.elements(block.elements, `${at}/elements`, 25, INTERACTIVE_ELEMENTS);
    } else if (type === 'context') {
      this.context(block, at);
    } else if (type === 'input') {
      this.input(block, at);
    } else if (type === 'image') {
      this.string(block.alt_text, `${at}/alt_text`, 2000, false);
      this.text(block.title, `${at}/title`, { max: 2000, plainOnly: true, optional: true });
    } else if (type !== 'divider' && !UNCHECKED_BLOCKS.includes(String(type))) {
      this.oneOf(type, `${at}/type`, [], false);
    }
  }

  private section(block: Json, at: string): void {
    if (block.text === undefined && block.fields === undefined) {
      this.error('must provide either text or fields', at);
    }
    this.text(block.text, `${at}/text`, { max: 3000, optional: true });
    if (block.fields !== undefined && this.array(block.fields, `${at}/fields`, 1, 10)) {
      block.fields.forEach((field, i) => {
        this.text(field, `${at}/fields/${i}`, { max: 2000 });
      });
    }
    if (block.accessory !== undefined) this.element(block.accessory, `${at}/accessory`, ALL_ELEMENTS);
  }

  private context(block: Json, at: string): void {
    if (!this.array(block.elements, `${at}/elements`, 1, 10)) return;
    block.elements.forEach((element, i) => {
      const where = `${at}/elements/${i}`;
      if (!this.object(element, where)) return;
      if (element.type === 'image') this.element(element, where, ['image']);
      else this.text(element, where, { max: Number.POSITIVE_INFINITY });
    });
  }

  private input(block: Json, at: string): void {
    this.text(block.label, `${at}/label`, { max: 2000, plainOnly: true });
    this.text(block.hint, `${at}/hint`, { max: 2000, plainOnly: true, optional: true });
    if (block.element === undefined) this.error('missing required field: element', at);
    else this.element(block.element, `${at}/element`, INPUT_ELEMENTS);
  }

  private elements(value: unknown, pointer: string, max: number, allowed: string[]): void {
    if (!this.array(value, pointer, 1, max)) return;
    const actionIds = new Set<string>();
    value.forEach((element, i) => {
      const at = `${pointer}/${i}`;
      this.element(element, at, allowed);
      const id = (element as Json | null)?.action_id;
      if (typeof id === 'string') {
        if (actionIds.has(id)) this.error('must be unique', `${at}/action_id`);
        actionIds.add(id);
      }
    });
  }

  private element(element: unknown, at: string, allowed: string[]): void {
    if (!this.object(element, at)) return;
    this.oneOf(element.type, `${at}/type`, allowed, false);
    this.string(element.action_id, `${at}/action_id`, 255);
    this.text(element.placeholder, `${at}/placeholder`, {
      max: 150,
      plainOnly: true,
      optional: true,
    });
    if (element.confirm !== undefined) this.confirm(element.confirm, `${at}/confirm`);
    switch (element.type) {
      case 'button':
        this.text(element.text, `${at}/text`, { max: 75, plainOnly: true });
        this.string(element.value, `${at}/value`, 2000);
        this.string(element.url, `${at}/url`, 3000);
        this.oneOf(element.style, `${at}/style`, ['primary', 'danger']);
        return;
      case 'image':
        this.string(element.alt_text, `${at}/alt_text`, 2000, false);
        return;
      case 'overflow':
        this.options(element.options, `${at}/options`, 5, true);
        return;
      case 'static_select':
      case 'multi_static_select':
        if (element.option_groups === undefined) {
          this.options(element.options, `${at}/options`, 100, true);
        }
        return;
      case 'radio_buttons':
      case 'checkboxes':
        this.options(element.options, `${at}/options`, 10, false);
        return;
      case 'plain_text_input':
        this.string(element.initial_value, `${at}/initial_value`, 3000);
        return;
    }
  }

  private options(value: unknown, pointer: string, max: number, plainOnly: boolean): void {
    if (!this.array(value, pointer, 1, max)) return;
    value.forEach((option, i) => {
      const at = `${pointer}/${i}`;
      if (!this.object(option, at)) return;
      this.text(option.text, `${at}/text`, { max: 75, plainOnly });
      this.string(option.value, `${at}/value`, 150, false);
      this.text(option.description, `${at}/description`, { max: 75, plainOnly, optional: true });
    });
  }

  private confirm(value: unknown, at: string): void {
    if (!this.object(value, at)) return;
    this.text(value.title, `${at}/title`, { max: 100, plainOnly: true });
    this.text(value.text, `${at}/text`, { max: 300 });
    this.text(value.confirm, `${at}/confirm`, { max: 30, plainOnly: true });
    this.text(value.deny, `${at}/deny`, { max: 30, plainOnly: true });
  }
}

function lastSegment(pointer: string): string {
  return pointer.slice(pointer.lastIndexOf('/') + 1);
}

/** Violations in a message's or view's `blocks` array; empty when Slack would accept it. */
export function blockKitViolations(blocks: unknown, surface: Surface): string[] {
  const checker = new Checker();
  checker.blocks(blocks, surface === 'message' ? '/blocks' : '/view/blocks', surface);
  return checker.out;
}

/** Violations in a whole view (modal or Home tab) as passed to `views.open/update/push/publish`. */
export function viewViolations(view: unknown, expectedType: 'modal' | 'home'): string[] {
  const checker = new Checker();
  if (!checker.object(view, '/view')) return checker.out;
  checker.oneOf(view.type, '/view/type', [expectedType], false);
  if (expectedType === 'modal') {
    checker.text(view.title, '/view/title', { max: 24, plainOnly: true });
    checker.text(view.submit, '/view/submit', { max: 24, plainOnly: true, optional: true });
    checker.text(view.close, '/view/close', { max: 24, plainOnly: true, optional: true });
    const blocks: unknown[] = Array.isArray(view.blocks) ? view.blocks : [];
    const hasInput = blocks.some((b) => (b as Json | null)?.type === 'input');
    if (hasInput && view.submit === undefined) {
      checker.error('must provide submit when the view contains input blocks', '/view/submit');
    }
  }
  checker.string(view.callback_id, '/view/callback_id', 255);
  checker.string(view.external_id, '/view/external_id', 255);
  checker.string(view.private_metadata, '/view/private_metadata', 3000);
  checker.blocks(view.blocks, '/view/blocks', expectedType);
  return checker.out;
}
