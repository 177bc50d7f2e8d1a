// Estate import page: follows the import's progress every second, then shows its outcome.
// Without this script the page offers a "Refresh" link instead.
(function () {
  "use strict";
  var section = document.querySelector("[data-progress-url]");
  if (!section) {
    return;
  }
  var url = section.getAttribute("data-progress-url");
  var bar = section.querySelector("progress");
  var percent = section.querySelector(".import-progress__percent");
  var text = section.querySelector(".import-progress__text");
  var state = section.querySelector(".import-progress__state");

  function show(news) {
    bar.value = news.percent;
    bar.textContent = news.percent + " %";
    percent.textContent = news.percent + " %";
    text.textContent = news.text;
    // The status region is read aloud when it changes: it names the stage, not every line.
    if (state.textContent !== news.label) {
      state.textContent = news.label;
    }
  }

  function poll() {
    fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) {
          throw new Error(response.status);
        }
        return response.json();
      })
      .then(function (news) {
        show(news);
        if (news.finished) {
          // The report (or the list of errors) is drawn by the server.
          window.setTimeout(function () { window.location.reload(); }, 400);
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 3000);
      });
  }

  window.setTimeout(poll, 1000);
})();
