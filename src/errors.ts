/**
 * Host-side errors: the same RedletError the sandbox throws (one type, string codes,
 * `user` vs `system` kind), re-exported so host modules need not reach into sandbox/.
 */
export { RedletError, asRedletError, type ErrorKind, type GuestError } from '../sandbox/errors.js';
