// Posts the form marked data-autosubmit as soon as the page is read (the card payment's hand-over to Paybox);
// without script, the page's own button does it.
(function () {
  var form = document.querySelector("form[data-autosubmit]");
  if (form) {
    form.submit();
  }
})();
