;;; lspilot.el --- lspilot (an LLM language server) with Eglot  -*- lexical-binding: t; -*-

;; Load this file from your init (or paste it there). Eglot runs one server per buffer, so
;; for these modes lspilot takes the place of your usual Python/JS server.
;; The API key comes from the environment (OPENAI_API_KEY), never from this file.

;;; Code:

(require 'eglot)

(defgroup lspilot nil
  "The lspilot language server through Eglot."
  :group 'eglot)

(defcustom lspilot-command '("lspilot" "serve")
  "Command line that starts the lspilot server."
  :type '(repeat string)
  :group 'lspilot)

(add-to-list 'eglot-server-programs
             `((python-mode python-ts-mode js-mode js-ts-mode typescript-ts-mode tsx-ts-mode
                go-mode go-ts-mode rust-mode rust-ts-mode java-mode java-ts-mode
                c-mode c-ts-mode c++-mode c++-ts-mode)
               . ,(lambda (&rest _) lspilot-command)))

;; Answers workspace/configuration (section "lspilot"); keys are the server's settings.
(setq-default eglot-workspace-configuration
              '(:lspilot (:provider "auto"
                          :model "gpt-4o-mini"
                          :hover (:enabled t)
                          :codeActions (:docstringStyle "google")
                          :diagnostics (:triggers ["open" "save" "idle"]
                                        :severityFloor "information"))))

(defun lspilot-status ()
  "Show lspilot's status: engine, model, requests, errors."
  (interactive)
  (let ((status (jsonrpc-request (eglot--current-server-or-lose)
                                 :workspace/executeCommand
                                 '(:command "lspilot.status"))))
    (message "lspilot: engine %s, model %s, last error: %s"
             (plist-get status :engine)
             (plist-get status :model)
             (or (plist-get status :lastError) (plist-get status :last_error) "none"))))

(provide 'lspilot)
;;; lspilot.el ends here
