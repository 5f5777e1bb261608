import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import {
  AGENT_CONFIG_DEFAULTS,
  API_PREFIX,
  type EnrollResponse,
  EnrollResponse as EnrollResponseSchema,
  HatangError,
  mergeConfig,
  Validator,
} from '@hatang/shared';
import { Document, parseDocument } from 'yaml';
import { CENTRAL_CACHE_FILE, fetchCentral, writeCentralCache, writeFileAtomic } from './central.js';
import { validateConfig } from './config.js';
import { httpRequest, netErrorCode } from './net/lite-http.js';
import { giveToStateOwner } from './privileges.js';
import { VERSION } from './version.js';

/**
 * `hatang-agent enroll --collector URL --code CODE [--config FILE] [--state-dir DIR]`
 * (docs/agent.md "Enrol"): trade a one-time code for an agent id and token, store the token in
 * `<stateDir>/token` (mode 0600), write or update the config file, and fetch the central config.
 * Everything that can be checked is checked before the code is spent.
 */

export const TOKEN_FILE = 'token';
export const IDENTITY_FILE = 'identity.json';

export interface Identity {
  agentId: string;
  name: string;
  commune: string | null;
  access: 'fixed' | 'mobile';
  isp: string | null;
  collectorUrl: string;
  enrolledAt: string;
}

export interface EnrollOptions {
  collectorUrl: string;
  code: string;
  configFile: string;
  /** Default: the config file's stateDir, else /var/lib/hatang-agent. */
  stateDir?: string | undefined;
  hostname?: string;
  timeoutMs?: number;
  now?: () => number;
}

export interface EnrollOutcome extends Identity {
  configFile: string;
  stateDir: string;
  tokenFile: string;
  /** The agent id this box had before, when it was enrolled already. */
  replaced: string | null;
  /** "fetched", or why the central config could not be fetched yet (the daemon retries). */
  central: string;
}

const responseCheck = new Validator(EnrollResponseSchema);

export function readIdentity(stateDir: string): Identity | undefined {
  try {
    return JSON.parse(readFileSync(join(stateDir, IDENTITY_FILE), 'utf8')) as Identity;
  } catch {
    return undefined;
  }
}

function normaliseUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new HatangError('HATANG_ERR_CONFIG', `--collector ${url} is not a URL`, {
      hint: 'Give the collector base URL, e.g. https://hatang.sonla.gov.vn',
    });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new HatangError('HATANG_ERR_CONFIG', `--collector ${url} must start with http:// or https://`);
  }
  return u.href.replace(/\/+$/, '');
}

function loadDoc(file: string): Document {
  if (!existsSync(file)) return new Document({});
  const doc = parseDocument(readFileSync(file, 'utf8'));
  if (doc.errors.length > 0) {
    throw new HatangError('HATANG_ERR_CONFIG', `${file}: not valid YAML: ${doc.errors[0]!.message}`, {
      hint: 'Fix or remove the file, then enrol again; the enrolment code has not been used.',
    });
  }
  if (doc.contents === null) return new Document({});
  return doc;
}

function applyIdentity(
  doc: Document,
  a: { url: string; tokenFile: string; stateDir: string; access: string; isp: string | null },
): void {
  doc.setIn(['collector', 'url'], a.url);
  doc.setIn(['collector', 'tokenFile'], a.tokenFile);
  doc.deleteIn(['collector', 'token']);
  doc.setIn(['agent', 'access'], a.access);
  if (a.isp) doc.setIn(['agent', 'isp'], a.isp);
  doc.setIn(['stateDir'], a.stateDir);
}

export async function enroll(o: EnrollOptions): Promise<EnrollOutcome> {
  const now = o.now ?? Date.now;
  const url = normaliseUrl(o.collectorUrl);
  const configFile = resolve(o.configFile);
  const doc = loadDoc(configFile);
  const fileStateDir = doc.getIn(['stateDir']);
  const stateDir = resolve(
    o.stateDir ?? (typeof fileStateDir === 'string' ? fileStateDir : AGENT_CONFIG_DEFAULTS.stateDir),
  );
  const tokenFile = join(stateDir, TOKEN_FILE);

  // Check the config the enrolment would write before spending the code.
  const probe = doc.clone();
  applyIdentity(probe, { url, tokenFile, stateDir, access: 'fixed', isp: null });
  validateConfig(mergeConfig(AGENT_CONFIG_DEFAULTS as Record<string, unknown>, probe.toJS() ?? {}), configFile);
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o750 });
    mkdirSync(dirname(configFile), { recursive: true });
  } catch (cause) {
    throw new HatangError('HATANG_ERR_STORAGE', `cannot create ${stateDir} or the directory of ${configFile}`, {
      cause,
      hint: 'Run enrolment as root (or as the agent user with write access there).',
    });
  }
  const previous = readIdentity(stateDir);

  let status: number;
  let text: string;
  try {
    const res = await httpRequest(new URL(`${API_PREFIX}/enroll`, url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: o.code, hostname: o.hostname ?? hostname(), agentVersion: VERSION }),
      timeoutMs: o.timeoutMs ?? 30_000,
    });
    status = res.status;
    text = res.text;
  } catch (cause) {
    throw new HatangError(
      'HATANG_ERR_NETWORK',
      `cannot reach the collector at ${url}: ${netErrorCode(cause)} (${(cause as Error).message})`,
      { cause, hint: 'Check the URL, the network and that the collector runs; the code has not been used.' },
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (status !== 200) {
    const err = (body as { error?: { code?: string; message?: string; hint?: string } } | undefined)?.error;
    if (err?.code === 'HATANG_ERR_ENROLL_CODE') {
      throw new HatangError('HATANG_ERR_ENROLL_CODE', `the collector refused the code: ${err.message}`, {
        hint: err.hint ?? 'Ask the province for a new enrolment code.',
      });
    }
    if (status === 400 && err) {
      throw new HatangError('HATANG_ERR_ENROLL_CODE', `the collector refused the code: ${err.message}`, {
        hint: 'Type the code exactly as printed, e.g. 7KQ2-M9XD-4TRB.',
      });
    }
    throw new HatangError(
      'HATANG_ERR_COLLECTOR',
      `the collector answered HTTP ${status}${err?.message ? `: ${err.message}` : ''}`,
      { hint: `Is ${url} a hatang collector? Check its log.` },
    );
  }
  const problem = responseCheck.explain(body);
  if (problem) throw new HatangError('HATANG_ERR_COLLECTOR', `the collector's enrolment answer ${problem}`);
  const r = body as EnrollResponse;

  writeFileAtomic(tokenFile, `${r.token}\n`, 0o600);
  const identity: Identity = {
    agentId: r.agentId,
    name: r.name,
    commune: r.commune,
    access: r.access,
    isp: r.isp,
    collectorUrl: url,
    enrolledAt: new Date(now()).toISOString(),
  };
  writeFileAtomic(join(stateDir, IDENTITY_FILE), `${JSON.stringify(identity, null, 2)}\n`, 0o640);

  applyIdentity(doc, { url, tokenFile, stateDir, access: r.access, isp: r.isp });
  giveToStateOwner(stateDir, [tokenFile, join(stateDir, IDENTITY_FILE)]);
  if (!existsSync(configFile)) {
    doc.commentBefore = ` hatang agent config, written by hatang-agent enroll on ${identity.enrolledAt}.\n Every key: docs/agent.md. The province sets schedule, servers and budget centrally.`;
  }
  writeFileAtomic(configFile, doc.toString(), 0o644);

  let central = 'fetched';
  const c = await fetchCentral({ collectorUrl: url, token: r.token });
  if (c.kind === 'new') {
    writeCentralCache(stateDir, { etag: c.etag, fetchedAt: now(), doc: c.doc });
    giveToStateOwner(stateDir, [join(stateDir, CENTRAL_CACHE_FILE)]);
  } else if (c.kind === 'error') central = c.reason;

  return {
    ...identity,
    configFile,
    stateDir,
    tokenFile,
    replaced: previous && previous.agentId !== r.agentId ? previous.agentId : null,
    central,
  };
}
