// The bearer token lives in sessionStorage only: it survives reloads of this tab,
// dies with it, and never appears in a URL. Who it names (tenant, user, role) is kept
// beside it, as /api/me answered at sign-in.

const TOKEN_KEY = "surveil.token";
const PERSON_KEY = "surveil.person";

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  /** {tenant, user, role} */
  get person() {
    try {
      return JSON.parse(sessionStorage.getItem(PERSON_KEY) ?? "null") ?? {};
    } catch {
      return {};
    }
  },
  get tenant() {
    return this.person.tenant ?? null;
  },
  signIn(token, person) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(PERSON_KEY, JSON.stringify(person));
  },
  signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(PERSON_KEY);
  },
};
