// The single-page app: the path names the page, links navigate without reloading, and each
// page module draws into <main> and may leave a timer (polling) that is stopped on leaving.
import { h, clear } from "./dom.js";
import { ApiError } from "./api.js";
import { runsPage } from "./runs.js";
import { runPage } from "./run.js";
import { searchPage } from "./search.js";
import { costsPage } from "./costs.js";
import { comparePage } from "./compare.js";

const main = document.getElementById("app");
let leave = null;

function route(path) {
  if (path === "/" || path === "/runs") return ["runs", runsPage, {}];
  if (path.startsWith("/run/")) return ["runs", runPage, { run: decodeURIComponent(path.slice(5)) }];
  if (path === "/search") return ["search", searchPage, {}];
  if (path === "/costs") return ["costs", costsPage, {}];
  if (path === "/compare") return ["compare", comparePage, {}];
  return [null, null, {}];
}

export function errorView(error) {
  if (error instanceof ApiError && error.status === 404) {
    return h("section", { class: "notice", id: "not-found" },
      h("h1", null, "Not found"), h("p", null, error.message),
      h("p", null, h("a", { href: "/runs", "data-nav": true }, "Back to the runs")));
  }
  return h("section", { class: "notice error" }, h("h1", null, "Something went wrong"),
    h("p", null, error.message || String(error)));
}

async function render() {
  if (leave) { leave(); leave = null; }
  const [pageName, page, args] = route(location.pathname);
  for (const link of document.querySelectorAll("header nav a")) {
    link.classList.toggle("active", link.dataset.page === pageName);
  }
  clear(main);
  if (!page) {
    main.appendChild(errorView(new ApiError(404, `There is no page at ${location.pathname}.`)));
    return;
  }
  const params = new URLSearchParams(location.search);
  try {
    leave = (await page(main, { ...args, params })) || null;
  } catch (error) {
    clear(main);
    main.appendChild(errorView(error));
  }
}

export function navigate(href, replace = false) {
  if (replace) history.replaceState(null, "", href);
  else history.pushState(null, "", href);
  render();
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-nav]");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  navigate(link.getAttribute("href"));
});
window.addEventListener("popstate", render);
render();
