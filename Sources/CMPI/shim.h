// Open MPI's C interface (Debian's libopenmpi-dev; pkg-config ompi-c names the include and library dirs).
// Open MPI's predefined handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are macros that take the address of a
// library global, which Swift cannot import as constants: each is exposed here through a tiny inline function.
#include <mpi.h>

static inline MPI_Comm lodestone_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype lodestone_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype lodestone_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op lodestone_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Errhandler lodestone_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Request lodestone_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *lodestone_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline void *lodestone_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int lodestone_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline MPI_Status *lodestone_mpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }
