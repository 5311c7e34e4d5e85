/**
 * Host-side errors: the same RedletError the sandbox throws (one type, string codes,
 * `user` vs `system` kind), re-exported so host modules need not reach into sandbox/.
 */
export {
  ERROR_CODES,
  RedletError,
  asRedletError,
  isErrorCode,
  type ErrorCode,
  type ErrorKind,
  type GuestError,
} from '../sandbox/errors.js';
