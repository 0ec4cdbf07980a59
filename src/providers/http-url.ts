import { z } from 'zod';

/**
 * An http(s) URL in the policy file. Checked by a refinement rather than `format: uri`, so the
 * JSON Schema leaves `${VAR}` alone in editors; the value is checked after interpolation.
 */
export const httpUrlSchema = z
  .string()
  .min(1)
  .refine((text) => {
    if (!URL.canParse(text)) return false;
    const { protocol } = new URL(text);
    return protocol === 'https:' || protocol === 'http:';
  }, 'must be an http(s) URL');
