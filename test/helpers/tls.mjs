// Test certificates made with the openssl command line (Debian package openssl): a throw-away CA,
// a leaf it signed for the given names, a self-signed leaf, and a CA-signed leaf for other names.
// Names are test-only (*.hatang.test); files go to a directory the caller removes.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** Returns file paths: { ca, good: {key, cert}, self: {key, cert}, wrong: {key, cert} }. */
export function makeTestCerts(dir, names, otherNames = ['other.hatang.test']) {
  const san = (ns) => `subjectAltName=${ns.map((n) => `DNS:${n}`).join(',')}`;
  openssl(
    ['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30', '-subj', '/CN=hatang test CA'],
    dir,
  );
  const leaf = (base, ns) => {
    openssl(['req', ...EC, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${ns[0]}`], dir);
    writeFileSync(join(dir, `${base}.ext`), `${san(ns)}\nbasicConstraints=CA:FALSE\n`);
    openssl(
      ['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial'].concat([
        '-out',
        `${base}.crt`,
        '-days',
        '30',
        '-extfile',
        `${base}.ext`,
      ]),
      dir,
    );
  };
  leaf('good', names);
  leaf('wrong', otherNames);
  openssl(
    [
      'req',
      '-x509',
      ...EC,
      '-keyout',
      'self.key',
      '-out',
      'self.crt',
      '-days',
      '30',
      '-subj',
      `/CN=${names[0]}`,
    ].concat(['-addext', san(names)]),
    dir,
  );
  const pair = (b) => ({ key: join(dir, `${b}.key`), cert: join(dir, `${b}.crt`) });
  return { ca: join(dir, 'ca.crt'), good: pair('good'), self: pair('self'), wrong: pair('wrong') };
}
