// Entry point: session, hash routing (#/ and #/alerts/<id>), the header.

import { UNAUTHORIZED_EVENT } from "./api.js";
import { session } from "./session.js";
import { renderInvestigation } from "./views/investigation.js";
import { renderQueue } from "./views/queue.js";
import { renderSignIn } from "./views/signin.js";

const main = document.getElementById("main");
const banner = document.getElementById("connection-banner");
const account = document.getElementById("account");
const tenantLabel = document.getElementById("tenant");
const userLabel = document.getElementById("user");
const roleLabel = document.getElementById("role");
const signOutButton = document.getElementById("sign-out");

let leaveView = () => {};

function navigate(hash) {
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

/** "#/alerts/ABC%2F1" -> {name: "investigation", id: "ABC/1"}. */
export function parseRoute(hash) {
  const match = /^#\/alerts\/([^/]+)\/?$/.exec(hash);
  if (match) return { name: "investigation", id: decodeURIComponent(match[1]) };
  return { name: "queue" };
}

function route() {
  leaveView();
  leaveView = () => {};
  account.hidden = !session.token;
  if (!session.token) {
    renderSignIn(main, { onSignedIn: route });
    return;
  }
  const person = session.person;
  tenantLabel.textContent = person.tenant ?? "";
  userLabel.textContent = person.user ?? "";
  roleLabel.textContent = person.role ?? "";
  roleLabel.className = `badge role-${person.role}`;
  const current = parseRoute(window.location.hash);
  if (current.name === "investigation") {
    document.title = `Alert ${current.id} · surveil`;
    leaveView = renderInvestigation(main, current.id, { banner });
  } else {
    document.title = "Alert queue · surveil";
    leaveView = renderQueue(main, { navigate });
  }
}

signOutButton.addEventListener("click", () => {
  session.signOut();
  route();
});

window.addEventListener(UNAUTHORIZED_EVENT, () => {
  session.signOut();
  route();
});

window.addEventListener("hashchange", route);
route();
