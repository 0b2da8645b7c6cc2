from src.exceptions import AuthenticationError, ConflictError


class EmailAlreadyRegistered(ConflictError):
    code = "email_taken"
    message = "An account with this email already exists"


class InvalidCredentials(AuthenticationError):
    code = "invalid_credentials"
    message = "Incorrect email or password"
