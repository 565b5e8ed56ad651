// The dashboard refreshes itself: every few seconds it fetches the same URL and swaps each
// [data-live] part (by id) in place, so the page neither flashes nor loses its scroll or a
// half-typed date. It pauses while the tab is hidden and catches up when it is shown again.
// Without JavaScript, a <meta refresh> in <noscript> reloads the page instead.
(function () {
  "use strict";
  const root = document.querySelector(".dashboard[data-refresh-seconds]");
  if (!root || !window.fetch || !window.DOMParser) return;
  const every = Math.max(5, Number(root.dataset.refreshSeconds) || 15) * 1000;
  let timer = null;
  let busy = false;

  async function refresh() {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const response = await fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
      // Signed out meanwhile (the login page answered): a full load shows it.
      if (response.redirected || !response.ok) {
        if (response.redirected || response.status === 401 || response.status === 403) window.location.reload();
        return;
      }
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const fresh of page.querySelectorAll("[data-live][id]")) {
        const current = document.getElementById(fresh.id);
        if (current && current.innerHTML !== fresh.innerHTML) current.innerHTML = fresh.innerHTML;
      }
    } catch (error) {
      // Offline for a moment: keep the figures shown, try again at the next tick.
    } finally {
      busy = false;
    }
  }

  function start() {
    if (timer === null) timer = window.setInterval(refresh, every);
  }

  function stop() {
    if (timer !== null) window.clearInterval(timer);
    timer = null;
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      stop();
    } else {
      refresh();
      start();
    }
  });
  start();
})();
