/**
 * The IPv6 checklist's vocabulary: check names and the stable codes a check reports, each with a
 * short explanation in Vietnamese and English. The agent's checklist prints these; docs/ipv6.md
 * explains each at length (a test keeps the two in step); the collector counts them.
 */

export type Lang = 'vi' | 'en';
type Words = { vi: string; en: string };

/** Per-target checks, in the order the agent runs and prints them. */
export const IPV6_CHECKS = ['dns-a', 'dns-aaaa', 'tcp-v4', 'tcp-v6', 'http-v6', 'happy-eyeballs', 'pmtu-v6'] as const;
export type Ipv6CheckName = (typeof IPV6_CHECKS)[number];

/** The one check a placeholder target carries (its URL ends in `.invalid`). */
export const IPV6_PLACEHOLDER_CHECK = 'config';

export const IPV6_CHECK_LABELS: Readonly<Record<Ipv6CheckName | 'config' | 'global-address' | 'default-route', Words>> =
  {
    'global-address': { vi: 'Địa chỉ IPv6 toàn cầu trên máy này', en: 'Global IPv6 address on this computer' },
    'default-route': { vi: 'Tuyến mặc định IPv6 (đường ra Internet)', en: 'IPv6 default route (way out)' },
    config: { vi: 'Đã khai báo địa chỉ', en: 'Address configured' },
    'dns-a': { vi: 'Tra cứu tên miền: bản ghi A (IPv4)', en: 'DNS lookup: A record (IPv4)' },
    'dns-aaaa': { vi: 'Tra cứu tên miền: bản ghi AAAA (IPv6)', en: 'DNS lookup: AAAA record (IPv6)' },
    'tcp-v4': { vi: 'Kết nối chỉ qua IPv4', en: 'Connect over IPv4 only' },
    'tcp-v6': { vi: 'Kết nối chỉ qua IPv6', en: 'Connect over IPv6 only' },
    'http-v6': { vi: 'Mở trang web chỉ qua IPv6', en: 'Web request over IPv6 only' },
    'happy-eyeballs': { vi: 'Khi có cả hai, máy chọn giao thức nào', en: 'Dual stack: which family wins' },
    'pmtu-v6': { vi: 'Gói tin lớn (1 600 byte) qua IPv6', en: 'Large request (1 600 bytes) over IPv6' },
  };

/** Host-level codes (the two host checks). */
export const IPV6_HOST_CODES = ['NO_GLOBAL_ADDRESS', 'NO_DEFAULT_ROUTE'] as const;

/**
 * Every fixed code a check may carry. `HTTP_<status>` (e.g. HTTP_404, HTTP_503) is the one
 * pattern: see {@link describeIpv6Code}. Anything a probe cannot classify becomes one of the
 * `*_ERROR` codes, so the set stays closed (bounded for metrics and reports).
 */
export const IPV6_CODES: Readonly<Record<string, Words>> = {
  NO_GLOBAL_ADDRESS: {
    vi: 'Máy không có địa chỉ IPv6 toàn cầu: đường truyền hoặc modem chưa cấp IPv6.',
    en: 'No global IPv6 address: the line or the router does not hand out IPv6.',
  },
  NO_DEFAULT_ROUTE: {
    vi: 'Không có tuyến mặc định IPv6: gói IPv6 không ra khỏi mạng cơ quan được.',
    en: 'No IPv6 default route: IPv6 traffic cannot leave the office network.',
  },
  NXDOMAIN: { vi: 'Tên miền không tồn tại.', en: 'The name does not exist in DNS.' },
  NODATA: {
    vi: 'Tên miền có, nhưng không có bản ghi loại này (thiếu AAAA: hệ thống chưa công bố địa chỉ IPv6).',
    en: 'The name exists but has no record of this type (no AAAA: the system publishes no IPv6 address).',
  },
  SERVFAIL: {
    vi: 'Máy chủ DNS báo lỗi khi tra (thường do DNSSEC hoặc máy chủ tên miền của hệ thống).',
    en: "The DNS server failed (often DNSSEC or the system's own name servers).",
  },
  REFUSED: { vi: 'Máy chủ DNS từ chối trả lời.', en: 'The DNS server refused to answer.' },
  DNS_UNREACHABLE: {
    vi: 'Không liên lạc được máy chủ DNS: kiểm tra cấu hình DNS của máy/modem.',
    en: 'No DNS server could be reached: check the DNS settings of this computer or router.',
  },
  DNS_BADRESP: { vi: 'Câu trả lời DNS sai định dạng.', en: 'The DNS answer was malformed.' },
  DNS_ERROR: { vi: 'Lỗi DNS khác.', en: 'Another DNS error.' },
  IP_LITERAL: {
    vi: 'Địa chỉ viết bằng số IP nên không cần tra tên miền.',
    en: 'The address is an IP number: no lookup needed.',
  },
  NO_A: {
    vi: 'Tên miền không có địa chỉ IPv4 nên không thử được IPv4.',
    en: 'The name has no IPv4 address, so IPv4 could not be tried.',
  },
  NO_AAAA: {
    vi: 'Tên miền không có địa chỉ IPv6 (AAAA) nên không thử được IPv6: đơn vị quản lý hệ thống cần khai báo AAAA.',
    en: 'The name has no IPv6 address (AAAA), so IPv6 could not be tried: the system owner must publish one.',
  },
  ENETUNREACH: {
    vi: 'Máy không có đường đi cho giao thức này: đường truyền/modem chưa hỗ trợ.',
    en: 'This computer has no route for this family: the line or router does not provide it.',
  },
  EHOSTUNREACH: {
    vi: 'Không tới được máy chủ (bộ định tuyến báo không có đường, hoặc không ai trả lời).',
    en: 'The server cannot be reached (a router said so, or nothing answered).',
  },
  ECONNREFUSED: {
    vi: 'Địa chỉ có trả lời nhưng máy chủ không mở cổng dịch vụ qua giao thức này.',
    en: 'The address answered but no service listens on that port over this family.',
  },
  ECONNRESET: { vi: 'Kết nối bị cắt ngang (thường do tường lửa).', en: 'The connection was cut (often a firewall).' },
  BLOCKED: { vi: 'Tường lửa trên máy này chặn kết nối.', en: 'A firewall on this computer blocked the connection.' },
  EADDRNOTAVAIL: {
    vi: 'Máy không có địa chỉ nguồn dùng được cho giao thức này.',
    en: 'This computer has no usable source address for this family.',
  },
  TIMEOUT: {
    vi: 'Quá thời gian chờ mà không có trả lời: gói tin bị mất dọc đường (tường lửa, hoặc đường IPv6 hỏng).',
    en: 'No answer in time: packets are lost on the way (a firewall, or a broken IPv6 path).',
  },
  CONNECT_ERROR: { vi: 'Lỗi kết nối khác.', en: 'Another connection error.' },
  TLS_EXPIRED: {
    vi: 'Chứng thư bảo mật (HTTPS) đã hết hạn, hoặc đồng hồ máy này sai.',
    en: "The site's certificate has expired, or this computer's clock is wrong.",
  },
  TLS_UNTRUSTED: {
    vi: 'Chứng thư bảo mật không do tổ chức tin cậy cấp (tự ký hoặc thiếu chứng thư trung gian).',
    en: 'The certificate is not from a trusted authority (self-signed or missing intermediate).',
  },
  TLS_NAME_MISMATCH: {
    vi: 'Chứng thư bảo mật cấp cho tên miền khác.',
    en: 'The certificate is for another name.',
  },
  TLS_ERROR: { vi: 'Bắt tay bảo mật (TLS) thất bại.', en: 'The secure (TLS) handshake failed.' },
  HTTP_PROTOCOL: { vi: 'Máy chủ trả lời không đúng giao thức HTTP.', en: 'The answer was not valid HTTP.' },
  PMTU_BLACKHOLE: {
    vi: 'Yêu cầu nhỏ đi được nhưng yêu cầu 1 600 byte thì mất: gói IPv6 lớn bị rơi dọc đường (MTU, ICMPv6 "Packet Too Big" bị chặn).',
    en: 'Small requests work but a 1 600-byte one is lost: large IPv6 packets are dropped on the path (MTU, ICMPv6 "Packet Too Big" blocked).',
  },
  ABORTED: { vi: 'Bài đo bị dừng trước khi chạy mục này.', en: 'The test stopped before this check ran.' },
  BAD_URL: {
    vi: 'Địa chỉ khai báo không phải URL hợp lệ: sửa lại trong ipv6.targets.',
    en: 'The configured address is not a valid URL: fix it in ipv6.targets.',
  },
  NOT_CONFIGURED: {
    vi: 'Mục tiêu mẫu: hãy khai báo địa chỉ thật trong ipv6.targets.',
    en: 'A placeholder: set its real address in ipv6.targets.',
  },
};

const HTTP_CODE = /^HTTP_([1-5]\d\d)$/;

/** Is this a code of the closed set (a fixed code, or HTTP_100…HTTP_599)? */
export function isIpv6Code(code: string): boolean {
  return code in IPV6_CODES || HTTP_CODE.test(code);
}

/** A short explanation of a code for a person, in the language asked. */
export function describeIpv6Code(code: string, lang: Lang = 'vi'): string {
  const fixed = IPV6_CODES[code];
  if (fixed) return fixed[lang];
  const m = HTTP_CODE.exec(code);
  if (m) {
    const status = Number(m[1]);
    if (lang === 'vi')
      return `Máy chủ web trả lời mã HTTP ${status}${status >= 500 ? ' (máy chủ đang lỗi)' : status >= 400 ? ' (địa chỉ hoặc quyền truy cập sai)' : ''}.`;
    return `The web server answered HTTP ${status}${status >= 500 ? ' (the server has a problem)' : status >= 400 ? ' (wrong address or access)' : ''}.`;
  }
  return lang === 'vi' ? `Mã ${code}.` : `Code ${code}.`;
}

/** True when a URL is a placeholder the operator has not filled in (RFC 2606 reserves `.invalid`). */
export function isPlaceholderUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname.toLowerCase();
    return host === 'invalid' || host.endsWith('.invalid');
  } catch {
    return false;
  }
}
