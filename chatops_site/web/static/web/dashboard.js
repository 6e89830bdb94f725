// The command box: run a command without leaving the page, show the answer and its follow-ups.
// Without this script the same forms post normally and the answer comes back as a page.
"use strict";

(function () {
  const POLL_MS = 1000;
  const POLL_FOR_MS = 15 * 60 * 1000;

  function answers() {
    return document.getElementById("answers");
  }

  async function run(form) {
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-Requested-With": "fetch" },
        credentials: "same-origin",
      });
      const box = answers();
      box.insertAdjacentHTML("afterbegin", await response.text());
      const answer = box.firstElementChild;
      if (form.id === "command-form" && response.ok) form.reset();
      if (answer && answer.dataset.follow) follow(answer, form.hasAttribute("data-refresh"));
      if (form.hasAttribute("data-refresh")) refresh();
    } catch (error) {
      answers().insertAdjacentHTML("afterbegin", '<article class="answer error"><p class="reply"></p></article>');
      answers().querySelector(".reply").textContent = "Could not reach the server: " + error.message;
    } finally {
      if (button) button.disabled = false;
    }
  }

  async function follow(answer, refreshAfter) {
    const list = answer.querySelector(".follow-ups");
    const until = Date.now() + POLL_FOR_MS;
    let after = 0;
    while (Date.now() < until) {
      const response = await fetch(answer.dataset.follow + "?after=" + after, { credentials: "same-origin" });
      if (!response.ok) return;
      const data = await response.json();
      for (const message of data.messages) {
        const item = document.createElement("li");
        item.textContent = message.text;
        list.appendChild(item);
        after = message.id;
      }
      if (data.done) {
        answer.classList.add("done");
        if (refreshAfter) refresh();
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  // Pages showing what a command changes (the overview, a deployment) redraw their main part.
  async function refresh() {
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.querySelector("[data-refresh-region]");
    const region = document.querySelector("[data-refresh-region]");
    if (fresh && region) region.innerHTML = fresh.innerHTML;
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.classList.contains("command-form")) return;
    event.preventDefault();
    run(form);
  });

  document.addEventListener("DOMContentLoaded", function () {
    // A command posted without the script lands on its own page: follow it there too.
    document.querySelectorAll("main .answer[data-follow]").forEach((answer) => follow(answer, false));
  });
})();
