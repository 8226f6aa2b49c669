/* Carelog on every page: the service worker, and warnings before unsent entries could be lost.
 *
 * Sign-out makes the browser delete everything this site kept (Clear-Site-Data), the outbox included,
 * so signing out with entries not yet sent asks first. Leaving the app (closing the tab, typing
 * another address) with entries waiting asks too; moving between Carelog's own pages does not, since
 * the outbox is kept and sent from any page.
 */
(function () {
  'use strict';

  if ('serviceWorker' in navigator) {
    window.addEventListener('load', function () {
      navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(function () {});
    });
  }

  // A camera tile whose photo is optional (a fix, a visit) says so once a photo is chosen.
  document.addEventListener('change', function (event) {
    var input = event.target;
    if (!input.matches || !input.matches('.camera input[type=file]')) return;
    input.closest('.camera').classList.toggle('has-file', !!(input.files && input.files.length));
  });

  var outbox = document.getElementById('outbox');
  function waiting() {
    return window.carelogOutbox ? window.carelogOutbox.count() : 0;
  }
  function inside() {
    if (window.carelogOutbox) window.carelogOutbox.leaving = true;
    window.setTimeout(function () { if (window.carelogOutbox) window.carelogOutbox.leaving = false; }, 1000);
  }

  var signout = document.getElementById('signout-form');
  if (signout && outbox) {
    signout.addEventListener('submit', function (event) {
      var n = waiting();
      if (n > 0 && !window.confirm(outbox.dataset.textConfirmSignout.replace('{n}', String(n)))) {
        event.preventDefault();
        return;
      }
      inside();
    });
  }

  document.addEventListener('click', function (event) {
    var link = event.target.closest ? event.target.closest('a[href]') : null;
    if (link && link.origin === window.location.origin) inside();
  }, true);
  document.addEventListener('submit', function (event) {
    if (!event.defaultPrevented) inside(); // a form the outbox took over does not leave the page
  });

  window.addEventListener('beforeunload', function (event) {
    if (window.carelogOutbox && window.carelogOutbox.leaving) return;
    if (waiting() > 0) {
      event.preventDefault();
      event.returnValue = '';
    }
  });

  // The offline page comes back to the page she asked for as soon as the server answers: checked
  // when the browser says it is online again, and every few seconds anyway ("online" only means a
  // network is up, and it may come before the service worker can reach the server).
  if (document.body.hasAttribute('data-offline-page')) {
    var probe = function () {
      fetch('/healthz', { cache: 'no-store' }).then(function (response) {
        if (!response.ok) return;
        inside();
        window.location.reload();
      }, function () {});
    };
    window.addEventListener('online', probe);
    window.setInterval(function () { if (!document.hidden) probe(); }, 5000);
  }
})();
