import {
  AGENT_CONFIG_DEFAULTS,
  type AgentConfig,
  FIXED_PROFILE_CAP_BYTES,
  METERED_PROFILE_CAP_BYTES,
  NDT7_DEFAULT_DURATION_MS,
  NDT7_DOWNLOAD_PATH,
  NDT7_EARLY_EXIT_MB,
  NDT7_UPLOAD_PATH,
  type Ndt7Body,
  type Ndt7Test,
  retransPct,
} from '@hatang/shared';
import { agentLimitReason, linkSpeedMbps, watchCpu } from '../diag.js';
import { LocateError, locateNdt7, withoutQuery } from '../mlab/locate.js';
import { VERSION } from '../version.js';
import { Ndt7ClientError, type Ndt7SubtestResult, runNdt7Subtest } from './ndt7-client.js';
import { errorCode, errorMessage, type Probe, type ProbeContext, type ProbeOutcome } from './probe.js';

type Ndt7Config = AgentConfig['ndt7'];

/** A server to run both subtests on. */
interface Target {
  id: string;
  /** Shown and stored: never carries a token. */
  baseUrl: string;
  downloadUrl: string;
  uploadUrl: string;
  /** Authorization: Bearer for self-hosted servers; M-Lab tokens ride in the URL. */
  bearer: string | undefined;
  mlab: boolean;
  machine?: string | undefined;
}

export function ndt7ConfigOf(config: AgentConfig): Ndt7Config {
  return { ...AGENT_CONFIG_DEFAULTS.ndt7, ...(config.ndt7 ?? {}) };
}

export function defaultUserAgent(): string {
  return `hatang-agent/${VERSION} (ndt7; provincial broadband measurement)`;
}

/** Client metadata sent in the query string (stored by the server; ≤ 4096 bytes in all). */
function metadataQuery(path: string): string {
  return new URLSearchParams({
    client_name: 'hatang-agent',
    client_version: VERSION,
    client_os: process.platform,
    client_arch: process.arch,
    // The fixed profile's 250 MB cap, enforced by the server (ndt7's only early_exit value).
    ...(path === NDT7_DOWNLOAD_PATH ? { early_exit: String(NDT7_EARLY_EXIT_MB) } : {}),
  }).toString();
}

/** The same early_exit on a URL handed out by locate (which carries only its token). */
function withEarlyExit(u: string): string {
  const url = new URL(u);
  if (!url.searchParams.has('early_exit')) url.searchParams.set('early_exit', String(NDT7_EARLY_EXIT_MB));
  return url.toString();
}

/** Per-direction byte cap: speed.capBytes, else the profile's (250 MB fixed, 30 MB metered). */
function capOf(config: AgentConfig): number {
  return (
    config.speed.capBytes ?? (config.speed.profile === 'metered' ? METERED_PROFILE_CAP_BYTES : FIXED_PROFILE_CAP_BYTES)
  );
}

/** ws(s):// URL of an ndt7 subtest on a base URL given as ws(s):// or http(s)://. */
export function ndt7Url(base: string, path: string): string {
  const u = new URL(base);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  u.pathname = path;
  u.search = metadataQuery(path);
  return u.toString();
}

function selfHosted(ctx: ProbeContext, c: Ndt7Config): Target {
  const first = ctx.servers[0];
  const base = c.server ?? first?.url ?? ctx.config.collector.url;
  return {
    id: c.server ? 'ndt7' : (first?.id ?? 'collector'),
    baseUrl: base,
    downloadUrl: ndt7Url(base, NDT7_DOWNLOAD_PATH),
    uploadUrl: ndt7Url(base, NDT7_UPLOAD_PATH),
    bearer: c.token ?? ctx.token,
    mlab: false,
  };
}

/** Server id for a result: an M-Lab machine name cut to the wire's id rules. */
function idOf(machine: string): string {
  return machine.replace(/[^A-Za-z0-9._:@-]/g, '-').slice(0, 64) || 'mlab';
}

function outcomeError(code: string, phase: string, message: string, family: 4 | 6 = 4): ProbeOutcome<'ndt7'> {
  return { status: 'error', error: { code, phase, message: message.slice(0, 500) }, family, bytesUsed: 0 };
}

function direction(r: Ndt7SubtestResult): NonNullable<Ndt7Body['download']> {
  const headline = r.test === 'download' ? r.clientBps : (r.serverBps ?? 0);
  const tcp = r.lastServer?.TCPInfo;
  // The server retransmits only what it sends: its share means something for the download alone.
  const retrans = r.test === 'download' ? retransPct(tcp) : undefined;
  return {
    bps: Math.round(headline),
    bytes: r.bytes,
    durationMs: Math.round(r.elapsedMs),
    ...(tcp?.MinRTT !== undefined ? { minRttMs: tcp.MinRTT / 1000 } : {}),
    ...(retrans !== undefined ? { retransPct: retrans } : {}),
    ...(r.serverBps !== undefined ? { serverBps: Math.round(r.serverBps) } : {}),
    clientBps: Math.round(r.clientBps),
  };
}

/**
 * ndt7 (M-Lab's single-stream test) against the province's own server, or — only when the config
 * accepts M-Lab's data policy — against M-Lab servers found through locate v2, trying the next
 * server when one refuses. A cross-reference to M-Lab's public data, not the headline speed test.
 */
export const ndt7Probe: Probe<'ndt7'> = {
  kind: 'ndt7',
  title: 'ndt7',
  async run(ctx) {
    const c = ndt7ConfigOf(ctx.config);
    const userAgent = c.userAgent ?? defaultUserAgent();
    let targets: Target[];
    if (c.mlab) {
      if (!c.acceptMlabDataPolicy) {
        return outcomeError(
          'MLAB_POLICY_NOT_ACCEPTED',
          'config',
          "ndt7.mlab is set but ndt7.acceptMlabDataPolicy is not: M-Lab publishes every result with the client's IP address; accept its data policy explicitly or turn mlab off",
        );
      }
      ctx.onProgress?.({ phase: 'locate', message: 'M-Lab' });
      try {
        const found = await locateNdt7({
          url: c.locateUrl,
          userAgent,
          signal: ctx.signal,
          retries: c.locateRetries,
          clientName: 'hatang-agent',
          clientVersion: VERSION,
          onWait: (ms) =>
            ctx.onProgress?.({
              phase: 'locate',
              message: `M-Lab has no capacity; retrying in ${Math.round(ms / 1000)} s`,
            }),
        });
        targets = found.map((t) => ({
          id: idOf(t.machine),
          baseUrl: withoutQuery(t.downloadUrl),
          downloadUrl: withEarlyExit(t.downloadUrl),
          uploadUrl: t.uploadUrl,
          bearer: undefined,
          mlab: true,
          machine: t.machine,
        }));
      } catch (err) {
        const e = err as LocateError;
        return outcomeError(err instanceof LocateError ? e.code : errorCode(err), 'locate', errorMessage(err));
      }
    } else {
      targets = [selfHosted(ctx, c)];
    }

    const cpu = watchCpu();
    const common = {
      userAgent,
      family: c.family,
      signal: ctx.signal,
      capBytes: capOf(ctx.config),
      onProgress: ({ test, elapsedMs, bps }: { test: Ndt7Test; elapsedMs: number; bps: number }) =>
        ctx.onProgress?.({ phase: test, bps, fraction: Math.min(1, elapsedMs / NDT7_DEFAULT_DURATION_MS) }),
    };

    // Download: on a refusal (HTTP error, connection refused, no subprotocol) try the next server.
    let chosen: Target | undefined;
    let down: Ndt7SubtestResult | undefined;
    let downErr: { code: string; message: string } | undefined;
    const refusals: string[] = [];
    for (const t of targets) {
      ctx.onProgress?.({ phase: 'download', message: t.machine ?? t.baseUrl });
      try {
        down = await runNdt7Subtest(t.downloadUrl, 'download', { ...common, bearer: t.bearer });
        chosen = t;
        break;
      } catch (err) {
        const e = err instanceof Ndt7ClientError ? err : new Ndt7ClientError(errorCode(err), errorMessage(err), false);
        downErr = { code: e.code, message: e.message };
        refusals.push(`${t.machine ?? t.baseUrl}: ${e.code}`);
        ctx.log.info({ server: t.machine ?? t.baseUrl, code: e.code }, 'ndt7 download refused');
        if (!e.beforeOpen || ctx.signal.aborted) {
          chosen = t;
          break;
        }
      }
    }
    chosen ??= targets[targets.length - 1];
    if (!chosen) return outcomeError('NO_SERVER', 'connect', 'no ndt7 server to test against');
    if (!down) {
      const message =
        refusals.length > 1 ? `every ndt7 server refused: ${refusals.join('; ')}` : (downErr?.message ?? 'failed');
      return {
        ...outcomeError(downErr?.code ?? 'ERROR', 'download', message),
        server: { id: chosen.id, url: chosen.baseUrl.slice(0, 512) },
      };
    }

    let up: Ndt7SubtestResult | undefined;
    let upErr: { code: string; message: string } | undefined;
    if (!ctx.signal.aborted) {
      ctx.onProgress?.({ phase: 'upload', message: chosen.machine ?? chosen.baseUrl });
      try {
        up = await runNdt7Subtest(chosen.uploadUrl, 'upload', { ...common, bearer: chosen.bearer });
      } catch (err) {
        upErr = { code: errorCode(err), message: errorMessage(err) };
      }
    }

    const body: Ndt7Body = {
      download: direction(down),
      ...(up ? { upload: direction(up) } : {}),
      ...(down.uuid ? { serverUuid: down.uuid.slice(0, 512) } : {}),
      mlab: chosen.mlab,
      ...(chosen.machine ? { machine: chosen.machine.slice(0, 512) } : {}),
    };
    const clean = (r: Ndt7SubtestResult | undefined) => !!r && !r.cut && (r.closeCode === 1000 || r.closeCode === 1005);
    const status = clean(down) && clean(up) ? 'ok' : 'partial';
    const limited =
      agentLimitReason(
        cpu.stop(),
        Math.max(down.clientBps, up?.serverBps ?? 0),
        linkSpeedMbps(ctx.config.agent.iface),
      ) !== undefined;
    return {
      status,
      body,
      ...(upErr ? { error: { code: upErr.code, phase: 'upload', message: upErr.message.slice(0, 500) } } : {}),
      family: down.family,
      server: { id: chosen.id, url: chosen.baseUrl.slice(0, 512) },
      bytesUsed: down.bytes + (up?.bytes ?? 0),
      agentLimited: limited,
    };
  },
};
