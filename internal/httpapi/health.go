package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/refhub/referral-service/pkg/referralapi"
)

// healthz godoc
//
//	@Summary		Liveness probe
//	@Description	200 while the process serves HTTP.
//	@ID				healthz
//	@Tags			ops
//	@Produce		json
//	@Success		200	{object}	referralapi.Health
//	@Header			all	{string}	X-Request-Id	"Request id: the caller's valid X-Request-Id, else a new one"
//	@Security
//	@Router			/healthz [get]
func (h *handlers) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, referralapi.Health{Status: "ok"})
}

// readyz godoc
//
//	@Summary		Readiness probe
//	@Description	200 when the database answers and its schema is current; 503 otherwise.
//	@ID				readyz
//	@Tags			ops
//	@Produce		json
//	@Success		200	{object}	referralapi.Health
//	@Failure		503	{object}	referralapi.Health	"Database unreachable or schema behind"
//	@Header			all	{string}	X-Request-Id		"Request id: the caller's valid X-Request-Id, else a new one"
//	@Security
//	@Router			/readyz [get]
func (h *handlers) readyz(c echo.Context) error {
	if err := h.ready(c.Request()); err != nil {
		h.log.WarnContext(c.Request().Context(), "not ready", "request_id", requestID(c), "error", err)
		return c.JSON(http.StatusServiceUnavailable, referralapi.Health{Status: "unavailable"})
	}
	return c.JSON(http.StatusOK, referralapi.Health{Status: "ok"})
}
