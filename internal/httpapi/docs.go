package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/refhub/referral-service/api"
)

// serveOpenAPI serves api/openapi.json, the published OpenAPI 3 document,
// byte for byte. Like /swagger/*, it documents the API and is not an
// operation of it.
func serveOpenAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, api.OpenAPI)
}
