import { RESULT_KINDS, type Result, type ResultKind, ResultSchemas, Validator } from '@hatang/shared';

const validators = Object.fromEntries(RESULT_KINDS.map((k) => [k, new Validator(ResultSchemas[k])])) as Record<
  ResultKind,
  Validator<(typeof ResultSchemas)[ResultKind]>
>;

export type Checked = { ok: true; result: Result } | { ok: false; id: string | null; message: string };

/** Check one result of a batch; the message names the field, e.g. `/network/access must be one of …`. */
export function checkResult(value: unknown): Checked {
  const obj = value as Record<string, unknown>;
  const id = typeof obj.id === 'string' && obj.id.length <= 64 ? obj.id : null;
  const kind = obj.kind;
  if (typeof kind !== 'string' || !(RESULT_KINDS as readonly string[]).includes(kind)) {
    return { ok: false, id, message: `/kind must be one of ${RESULT_KINDS.map((k) => `"${k}"`).join(', ')}` };
  }
  const problem = validators[kind as ResultKind].explain(value);
  if (problem) return { ok: false, id, message: problem };
  return { ok: true, result: value as Result };
}
