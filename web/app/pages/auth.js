// Register and sign in.

import { api, signIn } from "../lib/api.js";
import { errorLine, h, show } from "../lib/dom.js";

export function authPage(kind) {
  const registering = kind === "register";
  const status = h("div");
  const title = registering ? "Create an account" : "Sign in";
  const form = h("form", { class: "card", "aria-label": registering ? "Register" : "Sign in" },
    h("h1", {}, title),
    registering ? h("label", {}, "Name", h("input", { name: "display_name", required: true, autocomplete: "name" })) : null,
    h("label", {}, "Email", h("input", { name: "email", type: "email", required: true, autocomplete: "email" })),
    h("label", {}, "Password", h("input", { name: "password", type: "password", required: true, minlength: 8, autocomplete: registering ? "new-password" : "current-password" })),
    h("button", { type: "submit" }, registering ? "Register" : "Sign in"),
    status,
    h("p", {}, registering ? h("a", { href: "#/signin" }, "I have an account") : h("a", { href: "#/register" }, "Create an account")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form));
    try {
      if (registering) await api("/auth/register", { method: "POST", json: values });
      await signIn(values.email, values.password);
      location.hash = "#/chats";
    } catch (error) {
      status.replaceChildren(errorLine(error));
    }
  });
  show(title, form);
}
