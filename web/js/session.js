// The bearer token lives in sessionStorage only: it survives reloads of this tab,
// dies with it, and never appears in a URL.

const TOKEN_KEY = "surveil.token";
const TENANT_KEY = "surveil.tenant";

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  get tenant() {
    return sessionStorage.getItem(TENANT_KEY);
  },
  signIn(token, tenant) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(TENANT_KEY, tenant);
  },
  signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(TENANT_KEY);
  },
};
